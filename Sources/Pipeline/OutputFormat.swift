import Foundation

/// How rows are written.
public enum OutputFormat: String, CaseIterable, Sendable {
    /// `frame,time,face,valence,arousal`, one row per frame.
    case csv
    /// One JSON object per line: {"frame":1,"time":0.0,"face":1,"valence":…,"arousal":…}.
    case jsonl
    /// The ABAW / Aff-Wild2 VA file: header `valence,arousal`, one line per frame.
    case abaw

    public var header: String? {
        switch self {
        case .csv: "frame,time,face,valence,arousal"
        case .jsonl: nil
        case .abaw: "valence,arousal"
        }
    }

    public func line(_ o: FrameOutput) -> String {
        let v = String(format: "%.6f", o.valence), a = String(format: "%.6f", o.arousal)
        let t = String(format: "%.6f", o.time)
        switch self {
        case .csv: return "\(o.frame),\(t),\(o.face ? 1 : 0),\(v),\(a)"
        case .jsonl: return "{\"frame\":\(o.frame),\"time\":\(t),\"face\":\(o.face ? 1 : 0),\"valence\":\(v),\"arousal\":\(a)}"
        case .abaw: return "\(v),\(a)"
        }
    }
}
