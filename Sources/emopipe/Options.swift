import ArgumentParser
import Face
import Foundation
import Models
import Pipeline

// Typed option values: a wrong value is a usage error naming the option and listing the valid ones.
extension OutputFormat: ExpressibleByArgument {}
extension ProtocolRules.Name: ExpressibleByArgument {}
extension SubjectSelection: ExpressibleByArgument {}
extension HeadSpec: ExpressibleByArgument {
    public init?(argument: String) { self.init(name: argument) }
    public var defaultValueDescription: String { name }
}
// `HeadList.init?(argument:)` and `FaceSubjects.init?(argument:)` (the library's parsers) are the conformances.
extension HeadList: ExpressibleByArgument {}
extension FaceSubjects: ExpressibleByArgument {}

/// `--threads`, the same for every command that computes.
struct ThreadsOption: ParsableArguments {
    @Option(parsing: .unconditional,
            help: ArgumentHelp("Threads for the numeric work, 1 to \(ThreadCount.maximum) (default: all cores).", valueName: "n"))
    var threads: Int = ThreadCount.allCores

    func validate() throws {
        guard (1...ThreadCount.maximum).contains(threads) else {
            throw ValidationError("--threads must be between 1 and \(ThreadCount.maximum) (this machine has \(ThreadCount.allCores) cores), not \(threads)")
        }
    }
}

/// `--fps`, checked against the frame rates a crop folder may have.
func validateFrameRate(_ fps: Double) throws {
    guard InputOptions.frameRates.contains(fps) else {
        throw ValidationError("--fps must be between \(InputOptions.frameRates.lowerBound) and \(InputOptions.frameRates.upperBound), not \(fps)")
    }
}

/// How the model is chosen, shared by `run` and `batch`.
struct ModelOptions: ParsableArguments {
    @Option(help: "TSAV backbones weights (safetensors, from `emopipe convert`).")
    var backbones: String?
    @Option(help: ArgumentHelp("Fusion head: ca, jca, rjca, dca, iaca, tca, jmt, or a composition such as ca+iaca; several, "
                               + "comma-separated (jca,dca,jmt), run on one pass of the backbones.", valueName: "head[,head…]"))
    var head: HeadList?
    @Option(help: ArgumentHelp("Fusion head weights (safetensors); one per head, comma-separated.", valueName: "file[,file…]"))
    var headWeights: String?
    @Option(name: .customLong("model"), help: "A model folder holding tsav.safetensors and head_<name>.safetensors.")
    var folder: String?

    /// The model's files: the backbones and every head's weights.
    func resolve() throws -> FoundModel {
        try ModelLocator.resolve(backbones: backbones, heads: head, headWeights: headWeights.map { $0.split(separator: ",").map(String.init) },
                                 folder: folder)
    }

    /// Resolves and loads the model; warns when its weights are synthetic.
    func load() throws -> EmotionModel {
        let found = try resolve()
        let model = try EmotionModel(found)
        if model.synthetic { warn("\(found.backbones) holds synthetic test weights: the numbers below carry no meaning") }
        return model
    }
}

/// How the rows are computed, shared by `run` and `batch`.
struct ProtocolOptions: ParsableArguments {
    @Flag(help: "Skip the moving-average smoothing (values are still clipped to [-1, 1]).")
    var raw = false
    @Option(name: .customLong("protocol"),
            help: "official: the official repositories' test path, number for number (the published models' numbers); clean: the contract's reading (docs/protocol.md).")
    var rules: ProtocolRules.Name = .official

    var settings: Session.Settings {
        var s = Session.Settings()
        s.smoothing = !raw
        s.rules = .named(rules)
        return s
    }
}

/// Writes a whole file the way every output is written (`OutputFile`: atomic, through symbolic links, directly to
/// a FIFO or device, never over an input).
func writeOutput(_ data: Data, to path: String, protecting inputs: [String] = []) throws {
    let file = try OutputFile(path: path, protecting: inputs)
    do {
        try data.withUnsafeBytes { try file.write($0) }
        try file.commit()
    } catch {
        file.abandon()
        throw error
    }
}
