import ArgumentParser
import Foundation
import Pipeline

/// `emopipe eval PRED ANNOT`: CCC against Aff-Wild2 annotations.
struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "CCC of predictions against Aff-Wild2 valence/arousal annotations, as JSON.",
        discussion: """
        PRED and ANNOT are two files, or two folders whose files are matched by video name (<video>.txt or .csv).
        Every annotated video must have predictions (or --allow-missing: the others are scored and the missing
        ones listed); two files for one video (a.txt and a.csv) are an error.
        Predictions: emopipe's CSV or the ABAW layout (valence,arousal); annotations: Aff-Wild2 VA_Set files.
        All videos are concatenated; frames labelled -5 are excluded. The reference implementation's variant
        (those frames kept as zero label and zero prediction) is reported as reference_ccc_* for comparison
        with published numbers.
        """
    )

    @Argument(help: "Prediction file or folder.") var predictions: String
    @Argument(help: "Annotation file or folder (Aff-Wild2 VA_Set).") var annotations: String
    @Flag(help: "Score the videos that have predictions when some annotated ones have none (they are listed).")
    var allowMissing = false

    func run() throws {
        let (pairs, missing) = try Evaluation.pairs(predictions: predictions, annotations: annotations, allowMissing: allowMissing)
        if !missing.isEmpty { warn("\(predictions): no predictions for \(missing.count) annotated video(s), left out: \(missing.joined(separator: ", "))") }
        let result = try Evaluation.evaluate(pairs, missing: missing)
        for w in result.warnings { warn(w) }
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        enc.keyEncodingStrategy = .convertToSnakeCase
        try StandardOutput.shared.write(String(decoding: try enc.encode(result), as: UTF8.self) + "\n")
    }
}
