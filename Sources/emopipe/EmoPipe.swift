import ArgumentParser

/// `emopipe`: video → per-frame valence and arousal. Subcommands are one file each in this folder.
@main
struct EmoPipe: ParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "emopipe",
        abstract: "Per-frame valence and arousal from video, with the Aff-Wild2 audio-visual fusion models.",
        discussion: """
        Output goes to stdout (machine-readable); logs and progress go to stderr.
        Weights: see docs/weights.md for obtaining and converting the published checkpoints.
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
}
