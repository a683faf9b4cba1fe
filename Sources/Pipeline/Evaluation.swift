import Foundation

/// CCC evaluation against Aff-Wild2 valence/arousal annotations.
///
/// Annotation files (`VA_Set/.../<video>.txt`): a header line, then `valence,arousal` per frame; −5 marks a frame
/// without a valid label. Prediction files: emopipe's CSV (`frame,time,face,valence,arousal`) or the ABAW layout
/// (`valence,arousal`). All videos are concatenated and one CCC is computed per dimension (population moments); the
/// score is their mean. Frames labelled −5 are excluded; the reference's variant, which keeps them as zero labels
/// paired with zero predictions, is reported beside it.
public enum Evaluation {
    public struct Series: Sendable {
        public var valence: [Double] = []
        public var arousal: [Double] = []
    }

    public struct EvalError: Error, CustomStringConvertible {
        public let description: String
    }

    public struct VideoResult: Sendable, Encodable {
        public let video: String
        public let frames: Int
        public let labelledFrames: Int
        public let predictedFrames: Int
    }

    public struct Result: Sendable, Encodable {
        public let videos: [VideoResult]
        public let frames: Int
        public let cccValence: Double
        public let cccArousal: Double
        public let cccMean: Double
        /// The reference's variant: frames labelled −5 kept as (prediction 0, label 0).
        public let referenceCCCValence: Double
        public let referenceCCCArousal: Double
        public let referenceCCCMean: Double
        public let warnings: [String]
    }

    /// Reads a two-column series from a prediction or annotation file (header line required).
    public static func readSeries(_ path: String) throws -> Series {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw EvalError(description: "\(path): cannot be read")
        }
        var lines = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard let header = lines.first else { throw EvalError(description: "\(path): empty file") }
        lines.removeFirst()
        let columns = header.lowercased().split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        guard let vi = columns.firstIndex(of: "valence"), let ai = columns.firstIndex(of: "arousal") else {
            throw EvalError(description: "\(path): the header must name valence and arousal columns (got '\(header)')")
        }
        var s = Series()
        for (n, line) in lines.enumerated() {
            let f = line.split(separator: ",", omittingEmptySubsequences: false)
            guard f.count == columns.count, let v = Double(f[vi].trimmingCharacters(in: .whitespaces)),
                  let a = Double(f[ai].trimmingCharacters(in: .whitespaces)), v.isFinite, a.isFinite else {
                throw EvalError(description: "\(path): line \(n + 2) is not \(columns.count) numbers: '\(line)'")
            }
            s.valence.append(v)
            s.arousal.append(a)
        }
        return s
    }

    /// Pairs of (video name, prediction file, annotation file): one pair for two files, or files matched by name
    /// (without extension) for two folders.
    public static func pairs(predictions: String, annotations: String) throws -> [(String, String, String)] {
        func isDir(_ p: String) -> Bool {
            var d: ObjCBool = false
            return FileManager.default.fileExists(atPath: p, isDirectory: &d) && d.boolValue
        }
        for p in [predictions, annotations] where !FileManager.default.fileExists(atPath: p) {
            throw EvalError(description: "\(p): no such file or folder")
        }
        switch (isDir(predictions), isDir(annotations)) {
        case (false, false):
            return [(URL(fileURLWithPath: annotations).deletingPathExtension().lastPathComponent, predictions, annotations)]
        case (true, true):
            func index(_ dir: String) -> [String: String] {
                let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
                var out: [String: String] = [:]
                for n in names where n.hasSuffix(".txt") || n.hasSuffix(".csv") {
                    out[URL(fileURLWithPath: n).deletingPathExtension().lastPathComponent] = (dir as NSString).appendingPathComponent(n)
                }
                return out
            }
            let p = index(predictions), a = index(annotations)
            let common = a.keys.filter { p[$0] != nil }.sorted()
            guard !common.isEmpty else {
                throw EvalError(description: "\(predictions) and \(annotations) share no video name (<video>.txt / .csv)")
            }
            return common.map { ($0, p[$0]!, a[$0]!) }
        default:
            throw EvalError(description: "give two files or two folders (predictions, annotations)")
        }
    }

    public static func evaluate(_ pairs: [(String, String, String)]) throws -> Result {
        var pv: [Double] = [], pa: [Double] = [], lv: [Double] = [], la: [Double] = []
        var rpv: [Double] = [], rpa: [Double] = [], rlv: [Double] = [], rla: [Double] = []
        var videos: [VideoResult] = [], warnings: [String] = []
        for (name, predPath, annPath) in pairs {
            let pred = try readSeries(predPath), ann = try readSeries(annPath)
            if pred.valence.count != ann.valence.count {
                warnings.append("\(name): \(pred.valence.count) predicted frames, \(ann.valence.count) annotated; the first \(min(pred.valence.count, ann.valence.count)) are compared")
            }
            let n = min(pred.valence.count, ann.valence.count)
            var labelled = 0
            for i in 0..<n {
                let invalid = ann.valence[i] == -5 || ann.arousal[i] == -5
                if !invalid {
                    labelled += 1
                    pv.append(pred.valence[i]); pa.append(pred.arousal[i]); lv.append(ann.valence[i]); la.append(ann.arousal[i])
                }
                rpv.append(invalid ? 0 : pred.valence[i]); rpa.append(invalid ? 0 : pred.arousal[i])
                rlv.append(invalid ? 0 : ann.valence[i]); rla.append(invalid ? 0 : ann.arousal[i])
            }
            videos.append(VideoResult(video: name, frames: n, labelledFrames: labelled, predictedFrames: pred.valence.count))
        }
        guard !pv.isEmpty else { throw EvalError(description: "no labelled frame to compare (every label is -5)") }
        let cv = concordanceCorrelation(pv, lv), ca = concordanceCorrelation(pa, la)
        let rv = concordanceCorrelation(rpv, rlv), ra = concordanceCorrelation(rpa, rla)
        return Result(videos: videos, frames: pv.count, cccValence: cv, cccArousal: ca, cccMean: (cv + ca) / 2,
                      referenceCCCValence: rv, referenceCCCArousal: ra, referenceCCCMean: (rv + ra) / 2, warnings: warnings)
    }
}
