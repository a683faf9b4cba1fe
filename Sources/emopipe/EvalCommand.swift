import ArgumentParser
import Foundation
import Pipeline

/// `emopipe eval PRED ANNOT`: CCC against Aff-Wild2 annotations.
struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "CCC of predictions against Aff-Wild2 valence/arousal annotations, as JSON.",
        discussion: """
        PRED and ANNOT are two files, or two folders whose files are matched by video name (<video>.txt or .csv).
        Predictions: emopipe's CSV or the ABAW layout (valence,arousal); annotations: Aff-Wild2 VA_Set files.
        All videos are concatenated; frames labelled -5 are excluded. The reference implementation's variant
        (those frames kept as zero label and zero prediction) is reported as reference_ccc_* for comparison
        with published numbers.
        """
    )

    @Argument(help: "Prediction file or folder.") var predictions: String
    @Argument(help: "Annotation file or folder (Aff-Wild2 VA_Set).") var annotations: String

    func run() throws {
        do {
            let result = try Evaluation.evaluate(try Evaluation.pairs(predictions: predictions, annotations: annotations))
            for w in result.warnings { printError("warning: \(w)") }
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            enc.keyEncodingStrategy = .convertToSnakeCase
            print(String(decoding: try enc.encode(result), as: UTF8.self))
        } catch let e as Evaluation.EvalError {
            printError("error: \(e.description)")
            throw ExitCode.failure
        }
    }
}
