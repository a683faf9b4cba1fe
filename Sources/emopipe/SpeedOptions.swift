import ArgumentParser
import Kernels
import Pipeline

/// `--precision`, `--clip-stride` and `--fast`: how fast (and how exactly) the backbones run. Shared by `run` and `batch`.
struct SpeedOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Arithmetic of the backbones' convolutions: fp32 (exact, the default), bf16 or int8 (faster; measured accuracy cost in docs/performance.md).",
                               valueName: "precision"))
    var precision: Precision?

    @Option(parsing: .unconditional,
            help: ArgumentHelp("Run the visual backbone on every K-th frame's clip and interpolate the frames between (1: every clip, exact).",
                               valueName: "K"))
    var clipStride: Int?

    @Flag(help: "The fastest mode within the accuracy bound of docs/performance.md (today int8 with --clip-stride 4).")
    var fast = false

    func validate() throws {
        if let k = clipStride, !SpeedMode.clipStrides.contains(k) {
            throw ValidationError("--clip-stride must be between \(SpeedMode.clipStrides.lowerBound) and \(SpeedMode.clipStrides.upperBound)")
        }
        if fast && (precision != nil || clipStride != nil) {
            throw ValidationError("--fast sets --precision and --clip-stride; give either --fast or those two")
        }
    }

    var mode: SpeedMode {
        fast ? .fast : SpeedMode(precision: precision ?? .fp32, clipStride: clipStride ?? 1)
    }
}
