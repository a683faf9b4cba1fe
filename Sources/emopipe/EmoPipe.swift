import ArgumentParser
import Foundation
import Pipeline

/// `emopipe`: video → per-frame valence and arousal. Subcommands are one file each in this folder; the work is
/// done by the `Pipeline` library, which the commands only call.
///
/// One error style for every command: a usage error exits 64 with the usage text; any other failure prints one
/// line `emopipe: FILE: what happened (what to do)` and exits 1 (3 for a truncated input, said by the command);
/// a reader that closed the pipe (`emopipe … | head`) ends the run quietly.
@main
struct EmoPipe: ParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "emopipe",
        abstract: "Per-frame valence and arousal from video, with the Aff-Wild2 audio-visual fusion models.",
        discussion: """
        Output goes to stdout (machine-readable); logs and progress go to stderr.
        Weights: see docs/weights.md for obtaining and converting the published checkpoints.
        Exit status: 0 on success, 1 on an error (one line on stderr), 3 for a truncated input, 64 for a usage error.
        """,
        version: version,
        subcommands: [
            Run.self,
            ModelsCommand.self,
            Batch.self,
            Eval.self,
            Probe.self,
            Faces.self,
            TensorCommand.self,
            ConvertCommand.self,
            BenchCommand.self,
        ],
        defaultSubcommand: Run.self
    )

    static func main() {
        Terminal.prepare()
        TemporaryFiles.removeOnSignals()
        var command: ParsableCommand
        do {
            command = try parseAsRoot()
        } catch {
            exit(withError: error)   // usage text and 64 (help and --version: 0)
        }
        let status: Int32
        do {
            try command.run()
            status = 0
        } catch is OutputClosed {
            status = 0   // the reader has what it wanted
        } catch let e as ExitCode {
            status = e.rawValue
        } catch where String(reflecting: type(of: error)).hasPrefix("ArgumentParser.") {
            exit(withError: error)   // a usage error found while running (ValidationError), or `emopipe help`
        } catch {
            printError("emopipe: " + OneLine.message(for: error))
            status = 1
        }
        Foundation.exit(Terminal.exitStatus(status))
    }
}
