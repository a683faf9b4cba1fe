import Foundation
import Kernels
import Models

/// One output row: a decoded frame with its valence and arousal.
public struct FrameOutput: Sendable {
    public let frame: Int          // 1-based
    public let time: Double        // seconds since the first frame
    public let face: Bool
    public let valence: Double     // after post-processing (clip, and smoothing unless turned off)
    public let arousal: Double

    public init(frame: Int, time: Double, face: Bool, valence: Double, arousal: Double) {
        self.frame = frame; self.time = time; self.face = face; self.valence = valence; self.arousal = arousal
    }
}

public struct PipelineOptions: Sendable {
    /// Moving-average smoothing (20 frames valence, 50 arousal); off gives the clipped per-clip outputs.
    public var smoothing = true
    /// Clips per backbone call (more clips per GEMM is faster, and costs memory).
    public var clipBatch = 4
    /// Threads for the backbones and the head (passed to every call).
    public var threads: Int
    public init(threads: Int) { self.threads = threads }
}

public struct PipelineSummary: Sendable {
    public let frames: Int
    public let framesWithFace: Int
    public let hasAudio: Bool
    public let seconds: Double
    public let warnings: [String]
    public let truncationDetail: String?
}

/// The protocol of `shared/spec/README.md`, streaming: frames arrive one at a time; each frame's clip (8 crops) and
/// audio window go through the backbones as soon as it arrives; every 512 frames (a block) the 32 sequences of 16
/// clips go through the fusion head; rows are emitted in order as soon as their smoothing windows are complete.
/// Memory is bounded by one block of features, whatever the video's length.
public final class EmotionPipeline {
    public let model: EmotionModel
    public let options: PipelineOptions
    public let timings = StageTimings()

    public init(model: EmotionModel, options: PipelineOptions) {
        self.model = model
        self.options = options
    }

    public func run(source: FrameSource, audio: StreamingAudioWindow,
                    progress: ((Int) -> Void)? = nil, emit: (FrameOutput) throws -> Void) throws -> PipelineSummary {
        let started = DispatchTime.now()
        let features = try FeatureExtractor(model: model, clipBatch: options.clipBatch, threads: options.threads)
        let width = features.visualWidth
        let blockFrames = SequencePlan.framesPerBlock
        var blockVisual = [Float](repeating: 0, count: blockFrames * width)
        var blockAudio = [Float](repeating: 0, count: blockFrames * 512)
        var recentCrops = [[UInt8]?](repeating: nil, count: ClipSampling.window)
        var pendingClips: [[[UInt8]?]] = []
        var pendingSlots: [Int] = []
        var times: [Double] = [], faces: [Bool] = []
        var rawValence: [Double] = [], rawArousal: [Double] = []
        var window: [Float] = []
        var emitted = 0
        var block = 0

        func flushClips() throws {
            guard !pendingClips.isEmpty else { return }
            var rows = [Float](repeating: 0, count: pendingClips.count * width)
            try rows.withUnsafeMutableBufferPointer { try features.visual(pendingClips, into: $0.baseAddress!, timings: timings) }
            for (i, slot) in pendingSlots.enumerated() {
                blockVisual.withUnsafeMutableBufferPointer { dst in
                    rows.withUnsafeBufferPointer { src in
                        (dst.baseAddress! + slot * width).update(from: src.baseAddress! + i * width, count: width)
                    }
                }
            }
            pendingClips.removeAll(keepingCapacity: true)
            pendingSlots.removeAll(keepingCapacity: true)
        }

        func finishBlock(frameCount: Int) throws {
            try flushClips()
            let sequences = SequencePlan.sequences(block: block, frameCount: frameCount)
            guard !sequences.isEmpty else { return }
            let b = sequences.count, l = SequencePlan.clipsPerSequence
            let audioIn = Tensor(zeros: [b, l, 512]), visualIn = Tensor(zeros: [b, l, width])
            let black = try features.blackClip(timings: timings), silent = try features.silence(timings: timings)
            for (s, seq) in sequences.enumerated() {
                for (j, end) in seq.clipEnds.enumerated() {
                    let row = s * l + j
                    if end <= frameCount {
                        let slot = end - 1 - block * blockFrames
                        blockVisual.withUnsafeBufferPointer { (visualIn.pointer + row * width).update(from: $0.baseAddress! + slot * width, count: width) }
                        blockAudio.withUnsafeBufferPointer { (audioIn.pointer + row * 512).update(from: $0.baseAddress! + slot * 512, count: 512) }
                    } else {
                        black.withUnsafeBufferPointer { (visualIn.pointer + row * width).update(from: $0.baseAddress!, count: width) }
                        silent.withUnsafeBufferPointer { (audioIn.pointer + row * 512).update(from: $0.baseAddress!, count: 512) }
                    }
                }
            }
            let (v, a) = try timings.measure(.head) { try model.head.forward(audio: audioIn, visual: visualIn, threads: options.threads) }
            for (s, seq) in sequences.enumerated() {
                for (j, end) in seq.clipEnds.enumerated() where end <= frameCount {
                    rawValence[end - 1] = Double(v.data[s * l + j])
                    rawArousal[end - 1] = Double(a.data[s * l + j])
                }
            }
        }

        /// Emits rows whose smoothing windows lie inside the frames known so far (all of them at the end).
        func emitReady(known: Int, final: Bool) throws {
            let lookahead = options.smoothing ? (PostProcessing.arousalWindow - 1) / 2 : 0
            let limit = final ? known : known - lookahead
            while emitted < limit {
                let i = emitted
                let (v, a) = options.smoothing
                    ? (smoothed(rawValence, at: i, count: known, size: PostProcessing.valenceWindow),
                       smoothed(rawArousal, at: i, count: known, size: PostProcessing.arousalWindow))
                    : (PostProcessing.clip(rawValence[i]), PostProcessing.clip(rawArousal[i]))
                try timings.measure(.output) {
                    try emit(FrameOutput(frame: i + 1, time: times[i], face: faces[i], valence: v, arousal: a))
                }
                emitted += 1
            }
        }

        var n = 0
        while let frame = try source.next(timings: timings) {
            n += 1
            precondition(frame.number == n, "frames must arrive in order")
            recentCrops[(n - 1) % ClipSampling.window] = frame.crop
            times.append(frame.time)
            faces.append(frame.crop != nil)
            rawValence.append(0)
            rawArousal.append(0)
            let slot = (n - 1) % blockFrames

            audio.addFrame(time: frame.time)
            if audio.hasAudio {
                try timings.measure(.audio) { try audio.fillNewest(into: &window) }
                try blockAudio.withUnsafeMutableBufferPointer {
                    try features.audio(window: window, into: $0.baseAddress! + slot * 512, timings: timings)
                }
            } else {
                let silent = try features.silence(timings: timings)
                blockAudio.withUnsafeMutableBufferPointer { dst in
                    silent.withUnsafeBufferPointer { (dst.baseAddress! + slot * 512).update(from: $0.baseAddress!, count: 512) }
                }
            }

            pendingClips.append(ClipSampling.frames(endingAt: n).map { recentCrops[($0 - 1) % ClipSampling.window] })
            pendingSlots.append(slot)
            if pendingClips.count >= features.clipBatch { try flushClips() }

            if slot == blockFrames - 1 {
                try finishBlock(frameCount: n)
                block += 1
                try emitReady(known: n, final: false)
            }
            progress?(n)
        }
        if n % blockFrames != 0 { try finishBlock(frameCount: n) }
        try emitReady(known: n, final: true)

        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e9
        return PipelineSummary(frames: n, framesWithFace: faces.filter { $0 }.count, hasAudio: audio.hasAudio,
                               seconds: seconds, warnings: source.warnings, truncationDetail: source.truncationDetail)
    }

    /// Clip to [-1, 1], then the uniform moving average with zeros outside the video, at frame index i.
    private func smoothed(_ raw: [Double], at i: Int, count: Int, size: Int) -> Double {
        let lo = max(0, i - size / 2), hi = min(count - 1, i + (size - 1) / 2)
        var s = 0.0
        if lo <= hi { for k in lo...hi { s += PostProcessing.clip(raw[k]) } }
        return s / Double(size)
    }
}
