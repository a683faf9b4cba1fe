import Foundation
import Pipeline
import Testing
import TestSupport

@Suite struct EvaluationTests {
    @Test func cccExcludesInvalidFramesAndReportsTheReferenceVariant() throws {
        let dir = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let preds = dir.appendingPathComponent("pred"), anns = dir.appendingPathComponent("ann")
        try FileManager.default.createDirectory(at: preds, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: anns, withIntermediateDirectories: true)
        let pv = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6], pa = [-0.1, 0.0, 0.1, 0.2, 0.1, 0.0]
        let lv = [0.0, 0.25, -5, 0.35, 0.5, 0.7], la = [-0.2, 0.1, -5, 0.3, 0.2, 0.1]
        var csv = "frame,time,face,valence,arousal\n"
        for i in 0..<6 { csv += "\(i + 1),\(Double(i) / 30),1,\(pv[i]),\(pa[i])\n" }
        try csv.write(to: preds.appendingPathComponent("v1.csv"), atomically: true, encoding: .utf8)
        var ann = "valence,arousal\n"
        for i in 0..<6 { ann += "\(lv[i]),\(la[i])\n" }
        try ann.write(to: anns.appendingPathComponent("v1.txt"), atomically: true, encoding: .utf8)
        try "valence,arousal\n0.1,0.1\n".write(to: anns.appendingPathComponent("other.txt"), atomically: true, encoding: .utf8)

        // `other` has no predictions: an error, unless allowed (then it is listed).
        #expect(throws: Evaluation.EvalError.self) { _ = try Evaluation.pairs(predictions: preds.path, annotations: anns.path) }
        let (pairs, missing) = try Evaluation.pairs(predictions: preds.path, annotations: anns.path, allowMissing: true)
        #expect(missing == ["other"])
        let r = try Evaluation.evaluate(pairs, missing: missing)
        #expect(r.videosWithoutPredictions == ["other"])
        #expect(r.videos.count == 1 && r.frames == 5)
        let keep = [0, 1, 3, 4, 5]
        #expect(abs(r.cccValence - concordanceCorrelation(keep.map { pv[$0] }, keep.map { lv[$0] })) < 1e-12)
        #expect(abs(r.cccArousal - concordanceCorrelation(keep.map { pa[$0] }, keep.map { la[$0] })) < 1e-12)
        let zv = pv.enumerated().map { $0.offset == 2 ? 0 : $0.element }, zl = lv.map { $0 == -5 ? 0 : $0 }
        #expect(abs(r.referenceCCCValence - concordanceCorrelation(zv, zl)) < 1e-12)
        #expect(abs(r.cccMean - (r.cccValence + r.cccArousal) / 2) < 1e-15)
    }

    @Test func badFilesAreNamedErrors() throws {
        let dir = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let bad = dir.appendingPathComponent("bad.txt")
        try "valence,arousal\n0.1,x\n".write(to: bad, atomically: true, encoding: .utf8)
        #expect(throws: Evaluation.EvalError.self) { _ = try Evaluation.readSeries(bad.path) }
        #expect(throws: Evaluation.EvalError.self) { _ = try Evaluation.pairs(predictions: bad.path, annotations: dir.appendingPathComponent("none").path) }
    }

    /// a.txt and a.csv for one video are never mixed: the folder is refused, naming both.
    @Test func twoFilesForOneVideoAreAnError() throws {
        let dir = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let preds = dir.appendingPathComponent("pred"), anns = dir.appendingPathComponent("ann")
        for d in [preds, anns] { try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true) }
        for name in ["a.txt", "a.csv"] { try "valence,arousal\n0.1,0.2\n".write(to: preds.appendingPathComponent(name), atomically: true, encoding: .utf8) }
        try "valence,arousal\n0.1,0.2\n".write(to: anns.appendingPathComponent("a.txt"), atomically: true, encoding: .utf8)
        do {
            _ = try Evaluation.pairs(predictions: preds.path, annotations: anns.path)
            Issue.record("no error")
        } catch let e as Evaluation.EvalError {
            #expect(e.description.contains("a.csv") && e.description.contains("a.txt"))
        }
    }
}
