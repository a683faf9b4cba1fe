import Audio
import Foundation
import Kernels
import Models

/// One output row: a decoded frame with its valence and arousal (one pair per head run).
public struct FrameOutput: Sendable, Equatable {
    public let frame: Int          // 1-based
    public let time: Double        // seconds since the first frame
    public let face: Bool
    /// After post-processing (clip, and smoothing unless turned off); one per head, in the order the heads run.
    public let values: [EmotionValue]
    /// The face track the row follows, when every track is run (`--subject all`); nil otherwise.
    public let track: Int?

    /// The (first) head's values.
    public var valence: Double { values[0].valence }
    public var arousal: Double { values[0].arousal }

    public init(frame: Int, time: Double, face: Bool, valence: Double, arousal: Double) {
        self.init(frame: frame, time: time, face: face, values: [EmotionValue(valence: valence, arousal: arousal)])
    }

    public init(frame: Int, time: Double, face: Bool, values: [EmotionValue], track: Int? = nil) {
        self.frame = frame; self.time = time; self.face = face; self.values = values; self.track = track
    }
}

public struct PipelineSummary: Sendable {
    public let frames: Int
    public let framesWithFace: Int
    public let hasAudio: Bool
    public let seconds: Double
    public let warnings: [String]
    public let truncationDetail: String?
    /// How each clip's visual features were made.
    public let clips: ClipCounts
}

/// How the visual features of a run's clips were made (clips past the end of the input not counted).
public struct ClipCounts: Sendable, Equatable {
    /// Through the visual backbone.
    public var computed = 0
    /// All eight crops black (no face): the black clip's features, computed once per run.
    public var black = 0
    /// Between two computed clips of `--clip-stride`: interpolated.
    public var interpolated = 0
    public init() {}
}

/// Runs one input through the protocol of `shared/spec/README.md`, streaming: frames arrive one at a time; the block
/// assembler says what each needs; its clip goes through the visual backbone (in small batches) straight into the
/// head's input rows, its audio window becomes a spectrogram; when a head batch is complete the spectrograms become
/// audio features, clips past the end are filled, the head runs, and rows are emitted in order as soon as their
/// smoothing windows are complete. Memory is bounded by one head batch, whatever the input's length.
public final class EmotionPipeline {
    /// The heads run on every head batch (one or more; none when only the features are wanted, through `tap`).
    public let heads: [any FusionHead]
    public let features: any FeatureExtractor
    public let rules: ProtocolRules
    public let smoothing: Bool
    /// Threads of the head's calls (the features have their own).
    public let threads: Int
    /// Each head's weights file, named when its output is not finite (nil: the heads are named by their names).
    public let headWeights: [String]?
    /// The visual backbone runs on every `clipStride`-th frame's clip (and on the first and last frame of each head
    /// batch); the clips between take features interpolated linearly between their two computed neighbours.
    /// 1 (the default) computes every clip. The audio path and the heads are unchanged.
    public let clipStride: Int
    public let timings = StageTimings()
    /// Sees every frame and every complete head batch's inputs before the heads (the features cache).
    let tap: HeadBatchTap?

    public convenience init(head: any FusionHead, features: any FeatureExtractor, rules: ProtocolRules = .clean, smoothing: Bool = true,
                            threads: Int, headWeights: String? = nil, clipStride: Int = 1) {
        self.init(heads: [head], features: features, rules: rules, smoothing: smoothing, threads: threads,
                  headWeights: headWeights.map { [$0] }, clipStride: clipStride)
    }

    /// Several heads on one pass of the backbones: each row carries every head's values, in this order.
    /// `headWeights`: each head's weights file (named when its output is not finite).
    public convenience init(heads: [any FusionHead], features: any FeatureExtractor, rules: ProtocolRules = .clean,
                            smoothing: Bool = true, threads: Int, headWeights: [String]? = nil, clipStride: Int = 1) {
        self.init(heads: heads, features: features, rules: rules, smoothing: smoothing, threads: threads,
                  headWeights: headWeights, clipStride: clipStride, tap: nil)
    }

    init(heads: [any FusionHead], features: any FeatureExtractor, rules: ProtocolRules, smoothing: Bool, threads: Int,
         headWeights: [String]? = nil, clipStride: Int = 1, tap: HeadBatchTap?) {
        precondition(headWeights == nil || headWeights?.count == heads.count, "one weights file per head")
        precondition(clipStride >= 1, "clip stride must be at least 1")
        (self.heads, self.headWeights, self.tap, self.features) = (heads, headWeights, tap, features)
        (self.rules, self.smoothing, self.threads, self.clipStride) = (rules, smoothing, threads, clipStride)
    }

    /// Runs the frames of `source` with the audio of `audio`: `emit` gets each row in order, `rowsDone` is called
    /// after each head batch's rows (a place to flush them), `progress` gets the number of frames read so far.
    /// `timestamps`: the input's timestamp lines (ms), which the official audio windows are cut at.
    public func run(frames source: FrameSource, audio: StreamingAudio, timestamps: [Double]? = nil,
                    progress: ((Int) -> Void)? = nil, rowsDone: (() throws -> Void)? = nil,
                    emit: (FrameOutput) throws -> Void) throws -> PipelineSummary {
        let started = DispatchTime.now()
        let width = features.visualWidth
        try HeadStage.check(heads, visualWidth: width)
        guard rules.audioWindows != .officialCuts || !audio.hasAudio || timestamps != nil else {
            throw PipelineError(source.summary, "the official protocol cuts the audio at the input's timestamps, and none were given",
                                remedy: "give the video, or --timestamps <video>_video_ts.txt, or use --protocol clean")
        }
        var assembler = BlockAssembler(rules: rules, hasAudio: audio.hasAudio, timestamps: timestamps)
        let plan = assembler.plan
        let clips = SequencePlan.clipsPerSequence
        let run = HeadBatchBuffers(plan: plan, visualWidth: width)
        var crops = [[UInt8]?](repeating: nil, count: ClipSampling.window)
        let stage = HeadStage(heads: heads, weights: headWeights, plan: plan, smoothing: smoothing, threads: threads, timings: timings)
        var framesWithFace = 0
        var counts = ClipCounts()
        features.beginInput()

        // Clips waiting for the visual backbone: rows `pendingRow`, `pendingRow + 16`, … of the head's input.
        var pending: [[[UInt8]?]] = [], pendingFrames: [[Int?]] = [], pendingRow = 0
        // Clip stride: the frames (with their rows) of the current head batch whose clips were computed, and those
        // whose features are interpolated between them before the head runs; the last clip given.
        var computedClips: [(frame: Int, row: Int)] = [], skippedClips: [(frame: Int, row: Int)] = []
        var lastClip: ClipRequest?
        // Audio of the current head batch: spectrograms (step 1 done) and silent rows.
        var spectrograms: [Spectrogram] = [], spectrogramRows: [Int] = [], silentRows: [Int] = []
        var window: [Float] = []
        var silentSpectrogram: Spectrogram?   // the padded protocols' silent window, computed once
        // Frames computed but not written (the official protocol's end-time line).
        var withoutRow = Set<Int>()
        func emitRow(_ row: FrameOutput) throws { if !withoutRow.contains(row.frame) { try emit(row) } }

        func crop(_ frame: Int?) -> [UInt8]? { frame.flatMap { crops[($0 - 1) % ClipSampling.window] } }

        func flushVisual() throws {
            guard !pending.isEmpty else { return }
            try timings.measure(.visualBackbone) {
                try features.visualFeatures(of: pending, frames: pendingFrames, into: run.visual.pointer + pendingRow * width,
                                            rowStride: clips * width)
            }
            pending.removeAll(keepingCapacity: true)
            pendingFrames.removeAll(keepingCapacity: true)
        }

        /// Queues a clip for the backbone, or, with no face in any of its frames, writes the black clip's features
        /// (computed once). Returns whether the clip was black.
        @discardableResult
        func addVisual(_ frames: [Int?], row: Int) throws -> Bool {
            let clipCrops = frames.map(crop)
            if clipCrops.allSatisfy({ $0 == nil }) {
                try run.copyBlackClip(to: row, from: features, timings: timings)
                return true
            }
            if !pending.isEmpty && (pending.count == features.clipBatch || row != pendingRow + pending.count * clips) {
                try flushVisual()
            }
            if pending.isEmpty { pendingRow = row }
            pending.append(clipCrops)
            pendingFrames.append(frames)
            return false
        }

        /// The clip ending on frame f computed now (black or through the backbone), and counted.
        func computeClip(_ frames: [Int?], row: Int, frame f: Int) throws {
            if try addVisual(frames, row: row) { counts.black += 1 } else { counts.computed += 1 }
            computedClips.append((f, row))
        }

        /// The clip of a frame of the input: computed (or black), or left for interpolation under a clip stride.
        func addClip(_ clip: ClipRequest) throws {
            lastClip = clip
            let batchFrames = plan.framesPerHeadBatch
            let f = clip.frame
            if clipStride == 1 || (f - 1) % clipStride == 0 || f % batchFrames == 0 || (f - 1) % batchFrames == 0 {
                try computeClip(clip.frames, row: clip.row, frame: f)
            } else {
                skippedClips.append((f, clip.row))
            }
        }

        /// Fills the rows of the skipped clips of the current head batch, each between the computed clips before and
        /// after it (the batch's first and last frames are always computed).
        func interpolateSkipped() {
            guard !skippedClips.isEmpty else { return }
            var right = 0
            for (f, row) in skippedClips {
                while computedClips[right].frame < f { right += 1 }
                let (lf, lrow) = computedClips[right - 1], (rf, rrow) = computedClips[right]
                let w = Float(f - lf) / Float(rf - lf)
                let out = run.visual.pointer + row * width, a = run.visual.pointer + lrow * width, b = run.visual.pointer + rrow * width
                for i in 0..<width { out[i] = a[i] + (b[i] - a[i]) * w }
            }
            counts.interpolated += skippedClips.count
            skippedClips.removeAll(keepingCapacity: true)
        }

        func addAudio(_ request: AudioRequest, row: Int) throws {
            switch request {
            case .silence where rules.spectrogramPadding == .none:
                silentRows.append(row)
            case .silence:
                // Padded like the others: the spectrogram of 45599 zeros, as the official loader reads a missing wav.
                if silentSpectrogram == nil {
                    try timings.measure(.audio) {
                        silentSpectrogram = try features.spectrogram(of: [Float](repeating: 0, count: AudioWindow.minimumLength))
                    }
                }
                spectrograms.append(silentSpectrogram!)
                spectrogramRows.append(row)
            case .samples(let range):
                try timings.measure(.audio) {
                    try audio.window(range, into: &window)
                    spectrograms.append(try features.spectrogram(of: window))
                }
                spectrogramRows.append(row)
            }
        }

        func runHead(_ batch: HeadBatch) throws {
            for p in batch.pastEnd {
                try addVisual(p.frames, row: p.row)
                try addAudio(p.audio, row: p.row)
            }
            try flushVisual()
            interpolateSkipped()
            computedClips.removeAll(keepingCapacity: true)
            try timings.measure(.audioBackbone) {
                try features.audioFeatures(of: spectrograms, padding: rules.spectrogramPadding,
                                           into: spectrogramRows.map { run.audio.pointer + $0 * audioFeatureWidth })
            }
            // A silent window's features are the same for every clip: computed once (none when padding, above).
            for row in silentRows { try run.copySilence(to: row, from: features, timings: timings) }
            spectrograms.removeAll(keepingCapacity: true)
            spectrogramRows.removeAll(keepingCapacity: true)
            silentRows.removeAll(keepingCapacity: true)

            try tap?.batch(batch, inputs: run)
            try stage.run(batch, inputs: run, emit: emitRow)
            try timings.measure(.output) { try rowsDone?() }
        }

        var n = 0
        while let frame = try source.next(timings: timings) {
            n += 1
            guard frame.number == n else {
                throw PipelineError(source.summary, "frame \(frame.number) arrived where frame \(n) was expected",
                                    remedy: "frames must come in order; this is a bug of the frame source")
            }
            crops[(n - 1) % ClipSampling.window] = frame.crop
            if !frame.isVideoFrame { withoutRow.insert(n) }
            if frame.crop != nil { framesWithFace += 1 }
            stage.add(time: frame.time, face: frame.crop != nil)
            tap?.frame(frame)
            let (clip, completed) = try assembler.add(time: frame.time)
            try addAudio(clip.audio, row: clip.row)
            try addClip(clip)
            if let completed { try runHead(completed) }
            progress?(n)
        }
        if let last = assembler.finish() {
            // The input's last clip is always computed (the skipped clips before it need a right neighbour).
            if let clip = lastClip, let skipped = skippedClips.last, skipped.frame == clip.frame {
                skippedClips.removeLast()
                try computeClip(clip.frames, row: clip.row, frame: clip.frame)
            }
            try runHead(last)
        }
        try stage.finish(frames: n, emit: emitRow)
        try tap?.finish(frames: n)
        try timings.measure(.output) { try rowsDone?() }

        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e9
        return PipelineSummary(frames: n - withoutRow.count, framesWithFace: framesWithFace, hasAudio: audio.hasAudio,
                               seconds: seconds, warnings: source.warnings, truncationDetail: source.truncationDetail, clips: counts)
    }
}

/// Sees what the driver computes, before the heads: every frame, and every complete head batch's inputs (the
/// features cache, `FeatureCacheWriter`).
protocol HeadBatchTap: AnyObject {
    func frame(_ frame: SourceFrame)
    func batch(_ batch: HeadBatch, inputs: HeadBatchBuffers) throws
    func finish(frames: Int) throws
}

/// The head's inputs for one head batch — audio (S, 16, 512) and visual (S, 16, width) — which the features are
/// written into directly, and the features of a black clip and of a silent window, computed once per run.
final class HeadBatchBuffers {
    let plan: SequencePlan
    let visualWidth: Int
    let visual: Tensor
    let audio: Tensor
    private var blackClip: [Float]?
    private var silence: [Float]?

    init(plan: SequencePlan, visualWidth: Int) {
        self.plan = plan
        self.visualWidth = visualWidth
        visual = Tensor(zeros: [plan.sequencesPerHeadBatch, SequencePlan.clipsPerSequence, visualWidth])
        audio = Tensor(zeros: [plan.sequencesPerHeadBatch, SequencePlan.clipsPerSequence, audioFeatureWidth])
    }

    /// The inputs of the first `sequences` sequences: the buffers themselves, or a copy of their first rows in the
    /// last, short batch of an input.
    func inputs(sequences: Int) -> (audio: Tensor, visual: Tensor) {
        sequences == plan.sequencesPerHeadBatch ? (audio, visual) : (audio.slice(first: 0, count: sequences), visual.slice(first: 0, count: sequences))
    }

    func copyBlackClip(to row: Int, from features: any FeatureExtractor, timings: StageTimings) throws {
        if blackClip == nil {
            var f = [Float](repeating: 0, count: visualWidth)
            let black = [[UInt8]?](repeating: nil, count: ClipSampling.clipLength)
            try timings.measure(.visualBackbone) {
                try f.withUnsafeMutableBufferPointer { try features.visualFeatures(of: [black], into: $0.baseAddress!, rowStride: visualWidth) }
            }
            blackClip = f
        }
        blackClip!.withUnsafeBufferPointer { (visual.pointer + row * visualWidth).update(from: $0.baseAddress!, count: visualWidth) }
    }

    func copySilence(to row: Int, from features: any FeatureExtractor, timings: StageTimings) throws {
        if silence == nil {
            var f = [Float](repeating: 0, count: audioFeatureWidth)
            try timings.measure(.audioBackbone) {
                let spectrogram = try features.spectrogram(of: [Float](repeating: 0, count: AudioWindow.minimumLength))
                try f.withUnsafeMutableBufferPointer { try features.audioFeatures(of: [spectrogram], padding: .none, into: [$0.baseAddress!]) }
            }
            silence = f
        }
        silence!.withUnsafeBufferPointer { (audio.pointer + row * audioFeatureWidth).update(from: $0.baseAddress!, count: audioFeatureWidth) }
    }
}
