import Kernels

/// How fast, and how exactly, a run computes its visual (and audio) features: the arithmetic of the backbones'
/// convolutions and the clip stride. `exact` is the default and the reference; every other mode's accuracy cost is
/// measured against it (`docs/performance.md`). Exact savings (black clips, reused work) are on in every mode.
public struct SpeedMode: Sendable, Equatable, CustomStringConvertible {
    public var precision: Precision
    /// The visual backbone runs on every `clipStride`-th clip; the others are interpolated (`EmotionPipeline`).
    public var clipStride: Int

    public init(precision: Precision = .fp32, clipStride: Int = 1) {
        self.precision = precision
        self.clipStride = clipStride
    }

    /// fp32, every clip: the reference's numbers.
    public static let exact = SpeedMode()

    /// `--fast`: the fastest mode whose outputs stay within the accuracy bound of `docs/performance.md` (smoothed
    /// valence and arousal within 0.02 of exact mode, CCC with exact mode ≥ 0.99, every head, on the real face video)
    /// — chosen from the measurements there.
    public static let fast = SpeedMode(precision: .int8, clipStride: 4)

    /// The clip strides a run accepts (one head batch of the clean protocol holds 512 frames).
    public static let clipStrides = 1...64

    public var isExact: Bool { self == .exact }

    /// e.g. "int8, clip stride 4" or "fp32 (exact)".
    public var description: String {
        isExact ? "fp32 (exact)" : precision.rawValue + (clipStride > 1 ? ", clip stride \(clipStride)" : "")
    }

    /// `model` converted to this mode's precision (once; the same model when it already is).
    public func model(_ model: EmotionModel) -> EmotionModel {
        model.precision == precision ? model : EmotionModel(model, precision: precision)
    }
}
