import ArgumentParser
import Face
import Foundation
import Models
import Pipeline

/// `emopipe models`: where emopipe looks for models and what it finds; `emopipe models synth` makes a test model.
struct ModelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models",
        abstract: "List the model folders and the face detector's weights emopipe finds, and where it looked.",
        subcommands: [List.self, Synth.self],
        defaultSubcommand: List.self
    )

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List model folders (tsav.safetensors + head_<name>.safetensors).")

        func run() throws {
            var text = "searched:\n"
            for (dir, why) in ModelLocator.searchPath() {
                let state = FileManager.default.fileExists(atPath: dir) ? "" : " (absent)"
                text += "  \(dir)  — \(why)\(state)\n"
            }
            let found = ModelLocator.discover()
            text += found.isEmpty ? "models: none found (see docs/weights.md to convert the published checkpoints)\n" : "models:\n"
            for dir in found {
                let heads = ModelLocator.heads(in: dir).map(\.0.name).joined(separator: ", ")
                text += "  \(dir)  heads: \(heads)\n"
            }
            // The face detector's weights (made by `make`).
            let faceDir = FaceModelPaths.directory
            let names = [FaceModelPaths.fileNames.pnet, FaceModelPaths.fileNames.rnet, FaceModelPaths.fileNames.onet]
            let present = names.filter { FileManager.default.fileExists(atPath: (faceDir as NSString).appendingPathComponent($0)) }
            text += "face detector: \(faceDir)  — \(FaceModelPaths.origin())\n"
            text += present.count == names.count ? "  MTCNN: \(names.joined(separator: ", "))\n"
                : "  MTCNN: missing \(names.filter { !present.contains($0) }.joined(separator: ", ")) (run `make` in the emopipe checkout)\n"
            try StandardOutput.shared.write(text)
        }
    }

    struct Synth: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a model folder with synthetic weights (the parity rule): for tests and offline demos only.",
            discussion: "The numbers such a model produces carry no meaning; emopipe warns whenever it runs one."
        )

        @Argument(help: "Folder to create.")
        var folder: String
        @Option(help: "Head to include (ca, jca, rjca, dca, iaca, tca, jmt or a composition).")
        var head: HeadSpec = HeadSpec(name: "rjca")!
        @Option(help: "Salt of the synthetic rule.")
        var salt: String = ""

        func run() throws {
            do { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) } catch {
                throw PipelineError(folder, "cannot be created (\(OneLine.reason(for: error)))", remedy: "choose a folder you can write to")
            }
            try SyntheticModel.write(folder: folder, head: head, salt: salt)
            printError("emopipe: wrote \(folder)/tsav.safetensors and head_\(head.name).safetensors (synthetic weights)")
        }
    }
}
