import Face
import Foundation
import Kernels

/// The library's use-case: a model (and, for videos, the face models) loaded once, then any number of inputs run
/// one after another, each to its rows. `emopipe run`, `batch` and `faces` are thin commands over it.
///
/// ```swift
/// let session = try Session(model: try EmotionModel(folder: "model"), threads: 4)
/// let summary = try session.run(try session.open("video.mp4")) { row in print(row.frame, row.valence, row.arousal) }
/// ```
/// A session runs one input at a time (its per-run buffers are reused); the model can be shared by sessions.
public final class Session {
    public struct Settings: Sendable {
        /// Moving-average smoothing (20 frames valence, 50 arousal); off gives the clipped per-clip outputs.
        public var smoothing = true
        /// The protocol's conventions.
        public var rules = ProtocolRules.official
        /// Clips per visual backbone call (more clips per GEMM is faster, and costs memory).
        public var clipBatch = 4
        /// Run the visual backbone on every `clipStride`-th clip and interpolate the others (1: every clip; see
        /// `EmotionPipeline.clipStride` and `docs/performance.md` for what it costs).
        public var clipStride = 1
        public init() {}
    }

    public let model: EmotionModel
    public let threads: Int
    public let settings: Settings
    private var loadedFaceModels: FaceModels?
    private var features: BackboneFeatures?

    /// `threads`: the threads every numeric call of this session uses (1 to `ThreadCount.maximum`); `faceModels`:
    /// face models already loaded (sessions running side by side share one copy), else loaded on first use.
    public init(model: EmotionModel, threads: Int = ThreadCount.allCores, settings: Settings = Settings(),
                faceModels: FaceModels? = nil) throws {
        self.model = model
        self.threads = try ThreadCount.checked(threads)
        self.settings = settings
        self.loadedFaceModels = faceModels
    }

    /// The face models, loaded on first use (a session of crop folders never loads them) and then kept.
    public func faceModels() throws -> FaceModels {
        if let f = loadedFaceModels { return f }
        let f = try FaceModels.load()
        loadedFaceModels = f
        return f
    }

    /// Opens one input (a video, or a crop folder); see `PipelineInput`.
    /// The input is read by this session's protocol (`settings.rules`), whatever `options.rules` says.
    public func open(_ path: String, options: InputOptions = InputOptions()) throws -> PipelineInput {
        var options = options
        options.rules = settings.rules
        return try PipelineInput.open(path, options: options, threads: threads, faces: faceModels)
    }

    /// Runs `input` to its rows, handing each to `emit` in order as soon as it is final; `rowsDone` is called after
    /// each burst of rows (once per head batch: a place to flush them). `progress` gets the number of frames read so
    /// far. Throws when the input yields no frame, when `emit` throws, and when the subject asked for by track
    /// number never appeared.
    public func run(_ input: PipelineInput, progress: ((Int) -> Void)? = nil, rowsDone: (() throws -> Void)? = nil,
                    emit: (FrameOutput) throws -> Void) throws -> RunSummary {
        try run(input, tap: nil, progress: progress, rowsDone: rowsDone, emit: emit)
    }

    /// `run`, with a tap that sees every frame and head batch (the features cache).
    func run(_ input: PipelineInput, tap: HeadBatchTap?, progress: ((Int) -> Void)?, rowsDone: (() throws -> Void)?,
             emit: (FrameOutput) throws -> Void) throws -> RunSummary {
        let features = try self.features ?? BackboneFeatures(model: model, clipBatch: settings.clipBatch, threads: threads)
        self.features = features
        let pipeline = EmotionPipeline(heads: model.heads, features: features, rules: settings.rules, smoothing: settings.smoothing,
                                       threads: threads, headWeights: model.headPaths, clipStride: settings.clipStride, tap: tap)
        guard input.options.rules == settings.rules else {
            throw PipelineError(input.path, "was opened for the \(input.options.rules.name) protocol, the session runs \(settings.rules.name)",
                                remedy: "open it with Session.open, or with InputOptions.rules equal to the session's")
        }
        let summary = try pipeline.run(frames: input.frames, audio: input.audio, timestamps: input.timestamps, progress: progress,
                                       rowsDone: rowsDone, emit: emit)
        let reuse = features.reuseStatistics
        guard summary.frames > 0 else {
            throw PipelineError(input.path, "no frame could be decoded", remedy: "`emopipe probe \(input.path) --decode` shows what emopipe reads")
        }
        try input.checkSubjectFound()
        let noFace = summary.framesWithFace == 0 ? ["\(input.path): no face in any frame; every clip is black"] : []
        return RunSummary(pipeline: summary, timings: pipeline.timings, warnings: summary.warnings + noFace + input.endWarnings,
                          reusedWork: reuse.totalFlops > 0 ? reuse.skippedFlops / reuse.totalFlops : 0)
    }
}

/// What a run did.
public struct RunSummary: Sendable {
    public let pipeline: PipelineSummary
    public let timings: StageTimings
    /// The run's warnings, one line each (the input's own are `PipelineInput.warnings`).
    public let warnings: [String]
    /// Fraction of the visual backbone's work (of the clips it ran) skipped as already known (`ClipReuse`).
    public let reusedWork: Double

    public var frames: Int { pipeline.frames }
    public var framesWithFace: Int { pipeline.framesWithFace }
    public var seconds: Double { pipeline.seconds }
    /// Set when the input ended early: the rows cover the frames before the truncation.
    public var truncationDetail: String? { pipeline.truncationDetail }
    /// How the clips' visual features were made (computed, black, interpolated).
    public var clips: ClipCounts { pipeline.clips }

    /// One line for a run's summary: the kernels, the precision, and the work skipped (exactly or by the stride).
    public func speedLine(model: EmotionModel, clipStride: Int) -> String {
        var parts = ["\(model.precision.rawValue) \(KernelDispatch.kernelName(model.precision))"]
        if clipStride > 1 { parts.append("clip stride \(clipStride)") }
        parts.append("clips: \(clips.computed) computed, \(clips.black) black (not computed), \(clips.interpolated) interpolated")
        parts.append(String(format: "%.1f %% of the computed clips' work reused", 100 * reusedWork))
        return parts.joined(separator: "; ")
    }
}
