import Foundation
import Kernels
import Media
import Models

/// An input read once and held in memory — its frames with their face crops, and its audio — so that several
/// speed modes and heads run on exactly the same frames (`emopipe bench --video`). For short inputs only.
public final class RecordedInput: Sendable {
    public let path: String
    public let frames: [SourceFrame]
    /// The aligned mono 44.1 kHz track; nil without audio.
    public let samples: [Float]?
    /// Seconds spent reading the frames: decoding, and for a video the face path (detect, track, align).
    public let readSeconds: Double

    /// Frames and samples already in memory (tests, generated inputs).
    public init(path: String, frames: [SourceFrame], samples: [Float]?) {
        self.path = path
        self.frames = frames
        self.samples = samples
        readSeconds = 0
    }

    /// Opens `path` as `model`'s pipeline would under the rules every mode is replayed with (`SpeedComparison.run`:
    /// the clean protocol) and reads it into memory.
    public convenience init(path: String, model: EmotionModel, threads: Int) throws {
        var settings = Session.Settings()
        settings.rules = .clean
        try self.init(try Session(model: model, threads: threads, settings: settings).open(path))
    }

    /// Reads every frame of `input` (and its audio) into memory. Open `input` with the rules the replay runs under
    /// (`run(rules:)`, `.clean` by default).
    public init(_ input: PipelineInput) throws {
        path = input.path
        let timings = StageTimings()
        let t0 = DispatchTime.now().uptimeNanoseconds
        var frames: [SourceFrame] = []
        while let f = try input.frames.next(timings: timings) { frames.append(f) }
        readSeconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        self.frames = frames
        // The track the pipeline would read for this input, under the rules it was opened with.
        samples = try input.audio.readAll()
    }

    /// Replays the frames.
    func frameSource() -> FrameSource { Replay(frames, summary: path) }

    /// Replays the audio.
    func audio() -> StreamingAudio { StreamingAudio(reader: samples.map { Samples($0) }) }

    private final class Replay: FrameSource {
        let frames: [SourceFrame]
        let summary: String
        var next = 0
        init(_ frames: [SourceFrame], summary: String) { self.frames = frames; self.summary = summary }
        var expectedFrames: Int? { frames.count }
        func next(timings: StageTimings) throws -> SourceFrame? {
            guard next < frames.count else { return nil }
            next += 1
            return frames[next - 1]
        }
        var warnings: [String] { [] }
        var truncationDetail: String? { nil }
    }

    private final class Samples: AudioSampleReader {
        let samples: [Float]
        var at = 0
        init(_ s: [Float]) { samples = s }
        func read(maxSamples: Int) throws -> [Float] {
            let n = min(maxSamples, samples.count - at)
            defer { at += n }
            return Array(samples[at..<(at + n)])
        }
    }
}

/// Speed modes side by side on one recorded input: each mode's run time and how far its rows are from exact mode's.
public enum SpeedComparison {
    /// One mode's run of one head.
    public struct Run: Sendable {
        public let mode: SpeedMode
        public let head: String
        /// Seconds of the pipeline (audio, backbones, head, post-processing) over the recorded frames.
        public let seconds: Double
        /// Raw (clipped, unsmoothed) and smoothed valence and arousal per frame.
        public let raw: (valence: [Double], arousal: [Double])
        public let smoothed: (valence: [Double], arousal: [Double])
        public let clips: ClipCounts
        public let reusedWork: Double
        public let timings: StageTimings
    }

    /// How far a mode's rows are from exact mode's (the bound of `docs/performance.md`: smoothed |Δ| ≤ 0.02 and
    /// CCC ≥ 0.99 for valence and arousal).
    public struct Accuracy: Sendable, Codable {
        public var smoothedMaxAbs: [Double]   // valence, arousal
        public var smoothedCCC: [Double]
        public var rawMaxAbs: [Double]
        public var rawCCC: [Double]
        public static let maxAbsBound = 0.02, cccBound = 0.99
        public var withinBound: Bool {
            smoothedMaxAbs.allSatisfy { $0 <= Self.maxAbsBound } && smoothedCCC.allSatisfy { $0 >= Self.cccBound }
        }
    }

    public static func accuracy(_ run: Run, exact: Run) -> Accuracy {
        func maxAbs(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).map { abs($0 - $1) }.max() ?? 0 }
        return Accuracy(smoothedMaxAbs: [maxAbs(run.smoothed.valence, exact.smoothed.valence), maxAbs(run.smoothed.arousal, exact.smoothed.arousal)],
                        smoothedCCC: [concordanceCorrelation(run.smoothed.valence, exact.smoothed.valence),
                                      concordanceCorrelation(run.smoothed.arousal, exact.smoothed.arousal)],
                        rawMaxAbs: [maxAbs(run.raw.valence, exact.raw.valence), maxAbs(run.raw.arousal, exact.raw.arousal)],
                        rawCCC: [concordanceCorrelation(run.raw.valence, exact.raw.valence),
                                 concordanceCorrelation(run.raw.arousal, exact.raw.arousal)])
    }

    /// Runs `input` through `head` with `features` (already in `mode`'s precision) and `mode`'s clip stride.
    public static func run(_ input: RecordedInput, mode: SpeedMode, head: any FusionHead, features: any FeatureExtractor,
                           rules: ProtocolRules = .clean, threads: Int) throws -> Run {
        let pipeline = EmotionPipeline(head: head, features: features, rules: rules, smoothing: false, threads: threads,
                                       clipStride: mode.clipStride)
        var raw: [FrameOutput] = []
        let summary = try pipeline.run(frames: input.frameSource(), audio: input.audio()) { raw.append($0) }
        // Smoothed rows from the same raw values (the post-processing is exact and cheap).
        var smoother = RowSmoother(smoothing: true), smoothed: [FrameOutput] = []
        for r in raw { smoother.add(time: r.time, face: r.face) }
        for r in raw { smoother.set(frame: r.frame, valence: r.valence, arousal: r.arousal) }
        smoother.emitReady(known: raw.count, final: true) { smoothed.append($0) }
        let reuse = (features as? BackboneFeatures)?.reuseStatistics ?? (features as? ReplayedFeatures)?.source.reuseStatistics
        return Run(mode: mode, head: head.name, seconds: summary.seconds,
                   raw: (raw.map(\.valence), raw.map(\.arousal)), smoothed: (smoothed.map(\.valence), smoothed.map(\.arousal)),
                   clips: summary.clips, reusedWork: reuse.map { $0.totalFlops > 0 ? $0.skippedFlops / $0.totalFlops : 0 } ?? 0,
                   timings: pipeline.timings)
    }
}

/// Features computed once per clip and replayed: several heads (and clip strides) of one precision on one recorded
/// input share them. Visual rows are kept by the clip's frame numbers (within one input, the same crops).
public final class ReplayedFeatures: FeatureExtractor {
    public let source: BackboneFeatures
    private var visual: [[Int?]: [Float]] = [:]
    private var audioRows: [[Float]: [Float]] = [:]
    /// For a head on per-channel maxima (JMT): the layer4 rows of another cache, reduced (max is exact, so the rows
    /// equal what the backbone's max-pooled output gives).
    private let layer4: ReplayedFeatures?

    public init(_ source: BackboneFeatures) { self.source = source; layer4 = nil }

    /// The per-channel maxima (512) of `layer4`'s rows (25088: 512 channels × 49 positions, channel-major).
    public init(maxPooledFrom layer4: ReplayedFeatures) {
        precondition(layer4.visualWidth == HeadStage.layer4Width, "max pooling needs the 25088-wide layer4 rows")
        self.source = layer4.source
        self.layer4 = layer4
    }

    public var visualWidth: Int { layer4 == nil ? source.visualWidth : audioFeatureWidth }
    public var clipBatch: Int { source.clipBatch }

    public func visualFeatures(of clips: [[[UInt8]?]], into rows: UnsafeMutablePointer<Float>, rowStride: Int) throws {
        // Without frame numbers nothing is cached (the pipeline asks this way for its black clip, once per run).
        if let layer4 {
            try Self.maxPooled(clips.count, into: rows, rowStride: rowStride) {
                try layer4.visualFeatures(of: clips, into: $0, rowStride: layer4.visualWidth)
            }
            return
        }
        try source.visualFeatures(of: clips, into: rows, rowStride: rowStride)
    }

    /// Per-channel maxima of `n` layer4 rows that `fill` writes (packed, 25088 floats each): 512 floats to each row.
    private static func maxPooled(_ n: Int, into rows: UnsafeMutablePointer<Float>, rowStride: Int,
                                  _ fill: (UnsafeMutablePointer<Float>) throws -> Void) throws {
        var full = [Float](repeating: 0, count: n * HeadStage.layer4Width)
        try full.withUnsafeMutableBufferPointer { try fill($0.baseAddress!) }
        full.withUnsafeBufferPointer { HeadStage.channelMaxima($0.baseAddress!, rows: n, into: rows, rowStride: rowStride) }
    }

    public func visualFeatures(of clips: [[[UInt8]?]], frames: [[Int?]], into rows: UnsafeMutablePointer<Float>, rowStride: Int) throws {
        if let layer4 {
            try Self.maxPooled(clips.count, into: rows, rowStride: rowStride) {
                try layer4.visualFeatures(of: clips, frames: frames, into: $0, rowStride: layer4.visualWidth)
            }
            return
        }
        // A crop missing from a numbered frame is black: key it as such.
        let keys = zip(clips, frames).map { clip, numbers in zip(clip, numbers).map { $0 == nil ? nil : $1 } }
        let missing = keys.indices.filter { visual[keys[$0]] == nil }
        if !missing.isEmpty {
            var fresh = [Float](repeating: 0, count: missing.count * visualWidth)
            try fresh.withUnsafeMutableBufferPointer {
                try source.visualFeatures(of: missing.map { clips[$0] }, frames: missing.map { frames[$0] }, into: $0.baseAddress!,
                                          rowStride: visualWidth)
            }
            for (j, i) in missing.enumerated() { visual[keys[i]] = Array(fresh[(j * visualWidth)..<((j + 1) * visualWidth)]) }
        }
        for (i, key) in keys.enumerated() {
            visual[key]!.withUnsafeBufferPointer { (rows + i * rowStride).update(from: $0.baseAddress!, count: visualWidth) }
        }
    }

    public func beginInput() {}   // the cache belongs to one recorded input

    public func spectrogram(of window: [Float]) throws -> Spectrogram { try source.spectrogram(of: window) }

    public func audioFeatures(of spectrograms: [Spectrogram], padding: ProtocolRules.SpectrogramPadding,
                              into rows: [UnsafeMutablePointer<Float>]) throws {
        for (s, row) in zip(spectrograms, rows) {
            if let f = audioRows[s.values] { f.withUnsafeBufferPointer { row.update(from: $0.baseAddress!, count: audioFeatureWidth) }; continue }
            try source.audioFeatures(of: [s], padding: padding, into: [row])
            audioRows[s.values] = Array(UnsafeBufferPointer(start: row, count: audioFeatureWidth))
        }
    }
}
