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
        /// Annotated videos without predictions, left out (only with `allowMissing`).
        public let videosWithoutPredictions: [String]
    }

    /// Reads a two-column series from a prediction or annotation file (header line required).
    public static func readSeries(_ path: String) throws -> Series {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw EvalError(description: "\(path): cannot be read as text (give a prediction or annotation file)")
        }
        var lines = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard let header = lines.first else { throw EvalError(description: "\(path): empty file (a header line valence,arousal comes first)") }
        lines.removeFirst()
        let columns = header.lowercased().split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        guard let vi = columns.firstIndex(of: "valence"), let ai = columns.firstIndex(of: "arousal") else {
            throw EvalError(description: "\(path): the header '\(header)' names no valence and arousal columns (the first line must)")
        }
        var s = Series()
        for (n, line) in lines.enumerated() {
            let f = line.split(separator: ",", omittingEmptySubsequences: false)
            guard f.count == columns.count, let v = Double(f[vi].trimmingCharacters(in: .whitespaces)),
                  let a = Double(f[ai].trimmingCharacters(in: .whitespaces)), v.isFinite, a.isFinite else {
                throw EvalError(description: "\(path): line \(n + 2) is not \(columns.count) finite numbers: '\(line)' (fix or regenerate the file)")
            }
            s.valence.append(v)
            s.arousal.append(a)
        }
        return s
    }

    /// The videos to compare: (video name, prediction file, annotation file). One pair for two files; for two folders,
    /// files matched by name without extension (`<video>.txt` or `.csv`). An annotated video without predictions is an
    /// error unless `allowMissing` (then it is listed in `missing`), and so are two files of one video in a folder.
    public static func pairs(predictions: String, annotations: String,
                             allowMissing: Bool = false) throws -> (pairs: [(String, String, String)], missing: [String]) {
        func isDir(_ p: String) -> Bool {
            var d: ObjCBool = false
            return FileManager.default.fileExists(atPath: p, isDirectory: &d) && d.boolValue
        }
        for p in [predictions, annotations] where !FileManager.default.fileExists(atPath: p) {
            throw EvalError(description: "\(p): no such file or folder (check the path)")
        }
        switch (isDir(predictions), isDir(annotations)) {
        case (false, false):
            return ([(URL(fileURLWithPath: annotations).deletingPathExtension().lastPathComponent, predictions, annotations)], [])
        case (true, true):
            let p = try index(predictions), a = try index(annotations)
            let missing = a.keys.filter { p[$0] == nil }.sorted()
            if !missing.isEmpty && !allowMissing {
                let shown = missing.prefix(5).joined(separator: ", ") + (missing.count > 5 ? " and \(missing.count - 5) more" : "")
                throw EvalError(description: "\(predictions): no predictions for \(missing.count) annotated video(s): \(shown) "
                                + "(run them, or pass --allow-missing to score the others and list these)")
            }
            let common = a.keys.filter { p[$0] != nil }.sorted()
            guard !common.isEmpty else {
                throw EvalError(description: "\(predictions): no video name in common with \(annotations) (files are matched by name: <video>.txt or .csv)")
            }
            return (common.map { ($0, p[$0]!, a[$0]!) }, missing)
        default:
            throw EvalError(description: "\(predictions), \(annotations): one is a file and the other a folder (give two files or two folders)")
        }
    }

    /// `<video>.txt` / `.csv` files of a folder by video name; two files for one video are an error.
    static func index(_ dir: String) throws -> [String: String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        var out: [String: String] = [:]
        for n in names.sorted() where !n.hasPrefix(".") && (n.hasSuffix(".txt") || n.hasSuffix(".csv")) {
            let video = URL(fileURLWithPath: n).deletingPathExtension().lastPathComponent
            if let other = out[video] {
                throw EvalError(description: "\(dir): \((other as NSString).lastPathComponent) and \(n) are both for video \(video) "
                                + "(keep one of them)")
            }
            out[video] = (dir as NSString).appendingPathComponent(n)
        }
        return out
    }

    public static func evaluate(_ pairs: [(String, String, String)], missing: [String] = []) throws -> Result {
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
        guard !pv.isEmpty else {
            throw EvalError(description: "\(pairs.first?.2 ?? "annotations"): no labelled frame to compare (every label is -5; check the annotation files)")
        }
        let cv = concordanceCorrelation(pv, lv), ca = concordanceCorrelation(pa, la)
        let rv = concordanceCorrelation(rpv, rlv), ra = concordanceCorrelation(rpa, rla)
        return Result(videos: videos, frames: pv.count, cccValence: cv, cccArousal: ca, cccMean: (cv + ca) / 2,
                      referenceCCCValence: rv, referenceCCCArousal: ra, referenceCCCMean: (rv + ra) / 2, warnings: warnings,
                      videosWithoutPredictions: missing)
    }
}
