import Foundation

/// What a row holds besides frame, time and face: the heads' names (one head: plain `valence,arousal` columns;
/// several: `valence_<head>,arousal_<head>` per head) and whether a `track` column follows `face`.
public struct OutputColumns: Sendable, Equatable {
    public let heads: [String]
    public let track: Bool

    public init(heads: [String] = [], track: Bool = false) {
        self.heads = heads
        self.track = track
    }

    /// One head, one subject: the plain columns.
    public static let single = OutputColumns()

    /// The value columns' names, in order.
    var valueNames: [String] {
        heads.count <= 1 ? ["valence", "arousal"] : heads.flatMap { ["valence_\($0)", "arousal_\($0)"] }
    }
}

/// How rows are written.
public enum OutputFormat: String, CaseIterable, Sendable {
    /// `frame,time,face,valence,arousal`, one row per frame (`track` after `face` with every track, value columns
    /// per head with several heads).
    case csv
    /// One JSON object per line: {"frame":1,"time":0.0,"face":1,"valence":…,"arousal":…}, keys as the CSV's columns.
    case jsonl
    /// The ABAW / Aff-Wild2 VA file: header `valence,arousal`, one line per frame (one head, one subject).
    case abaw

    public var header: String? { header(.single) }

    public func header(_ columns: OutputColumns) -> String? {
        switch self {
        case .csv: (["frame", "time", "face"] + (columns.track ? ["track"] : []) + columns.valueNames).joined(separator: ",")
        case .jsonl: nil
        case .abaw: "valence,arousal"
        }
    }

    /// Whether the format can hold these columns (ABAW files hold one head's values for one subject).
    public func holds(_ columns: OutputColumns) -> Bool { self != .abaw || (columns.heads.count <= 1 && !columns.track) }

    public func line(_ o: FrameOutput) -> String { line(o, .single) }

    public func line(_ o: FrameOutput, _ columns: OutputColumns) -> String {
        let t = String(format: "%.6f", o.time)
        let values = o.values.flatMap { [String(format: "%.6f", $0.valence), String(format: "%.6f", $0.arousal)] }
        let track = columns.track ? [o.track.map(String.init) ?? ""] : []
        switch self {
        case .csv:
            return (["\(o.frame)", t, o.face ? "1" : "0"] + track + values).joined(separator: ",")
        case .jsonl:
            let names = ["frame", "time", "face"] + (columns.track ? ["track"] : []) + columns.valueNames
            let fields = ["\(o.frame)", t, o.face ? "1" : "0"] + track.map { $0.isEmpty ? "null" : $0 } + values
            return "{" + zip(names, fields).map { "\"\($0)\":\($1)" }.joined(separator: ",") + "}"
        case .abaw:
            return values.prefix(2).joined(separator: ",")
        }
    }
}
