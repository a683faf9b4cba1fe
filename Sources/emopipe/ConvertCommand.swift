import ArgumentParser
import Checkpoint
import Foundation

/// `emopipe convert IN OUT.safetensors`: a published PyTorch checkpoint → an emopipe weights file.
struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Convert a PyTorch checkpoint (torch.save, zip or legacy format) to an emopipe safetensors weights file.",
        discussion: """
        The checkpoint is read natively (no Python); nothing in it is executed: it may only hold tensors, dicts and \
        plain numbers. The state dict is found under 'state_dict' (TSAV) or 'net' (JCA/DCA) or is the file itself; \
        'module.' prefixes are removed. Without --kind the kind is inferred from the names and the result is \
        checked against the official names and shapes. The output is written atomically: on failure no file is left. \
        See docs/weights.md for where to get each checkpoint.
        """
    )

    @Argument(help: "The checkpoint written by torch.save (e.g. TSAV_Sub4_544k.pth.tar, jointcam_model.pt).")
    var input: String

    @Argument(help: "The safetensors file to write.")
    var output: String

    @Option(help: "tsav, head, or unchecked (no name/shape check; for inspection). Inferred when omitted.")
    var kind: String?

    @Option(help: "The head the weights belong to: \(ExpectedKeys.headNames.joined(separator: ", ")). Inferred when omitted.")
    var head: String?

    @Flag(help: "Keep objects of other classes stored beside the weights (e.g. training arguments) as inert placeholders instead of failing. Nothing is ever executed.")
    var skipUnknownObjects = false

    func validate() throws {
        if let kind, WeightsKind(rawValue: kind) == nil {
            throw ValidationError("--kind must be one of \(WeightsKind.allCases.map(\.rawValue).joined(separator: ", ")), not \(kind)")
        }
        if let head, !ExpectedKeys.headNames.contains(head) {
            throw ValidationError("--head must be one of \(ExpectedKeys.headNames.joined(separator: ", ")), not \(head)")
        }
    }

    func run() throws {
        let report = try WeightsConversion.convert(input: input, output: output, kind: kind.flatMap(WeightsKind.init(rawValue:)), head: head,
                                                   skipUnknownObjects: skipUnknownObjects)
        var what = report.kind.rawValue
        if let h = report.head { what += " " + h }
        let wrapper = report.wrapperPath.isEmpty ? "bare state dict" : "state dict under " + report.wrapperPath.map { "'\($0)'" }.joined(separator: " → ")
        var log = "emopipe convert: \(input) (\(report.format.rawValue), \(wrapper), sha256 \(report.sourceSHA256)) → \(output): \(what), \(report.tensorCount) tensors, \(report.parameterCount) values"
        if report.strippedModulePrefixes > 0 { log += ", removed 'module.' from \(report.strippedModulePrefixes) names" }
        if report.skippedCount > 0 { log += ", skipped \(report.skippedCount) non-tensor entries (\(report.skipped.prefix(3).joined(separator: "; ")))" }
        printError(log)
    }
}
