import Foundation
import Kernels
import Models

/// One head's output for a frame.
public struct EmotionValue: Sendable, Equatable {
    public let valence: Double
    public let arousal: Double
    public init(valence: Double, arousal: Double) { self.valence = valence; self.arousal = arousal }
}

/// The heads' half of the protocol: a complete head batch's inputs → every head → per-frame values → rows, smoothed
/// and in order. The features half (`EmotionPipeline`: frames → clips → backbones) and a run on cached features
/// (`CachedFeatureRun`) both end here, so that their rows are made by the same code.
///
/// Several heads run on the same inputs one after another (the backbones, 95 % of the work, once for all). A head on
/// the per-channel maxima of layer4 (JMT) beside heads on the whole map gets the maxima computed here from the
/// layer4 rows, exactly as the backbone computes them (`Pooling.globalMax`: the same values, compared in the same
/// order), so its values equal a run of that head alone, to the bit.
final class HeadStage {
    let heads: [any FusionHead]
    /// What names each head when its output is not finite: its weights file, else "head NAME".
    let weights: [String]
    let plan: SequencePlan
    let threads: Int
    let timings: StageTimings
    private var smoother: RowSmoother
    /// Per-channel maxima of the batch's layer4 rows, for heads on maxima when the buffers hold layer4.
    private var maxima: Tensor?

    init(heads: [any FusionHead], weights: [String]?, plan: SequencePlan, smoothing: Bool, threads: Int, timings: StageTimings) {
        self.heads = heads
        self.weights = weights ?? heads.map { "head \($0.name)" }
        self.plan = plan
        self.threads = threads
        self.timings = timings
        smoother = RowSmoother(smoothing: smoothing, heads: heads.count)
    }

    /// Checks that every head can take the features' visual rows (`width` floats): its own width, or maxima
    /// derived from layer4.
    static func check(_ heads: [any FusionHead], visualWidth width: Int) throws {
        for head in heads where head.visualFeatures != width && !(head.visualFeatures == audioFeatureWidth && width == layer4Width) {
            throw PipelineError(nil, "head \(head.name) takes \(head.visualFeatures) visual features, the backbones give \(width)",
                                remedy: "use the head's own model folder")
        }
    }

    /// Floats of a flattened layer4 row (512 channels × 7 × 7), and positions per channel.
    static let layer4Width = 512 * 49
    static let layer4Positions = 49

    /// The next frame (its values come with its head batch).
    func add(time: Double, face: Bool) { smoother.add(time: time, face: face) }

    /// Runs every head on a complete head batch and emits the rows that are final.
    func run(_ batch: HeadBatch, inputs buffers: HeadBatchBuffers, emit: (FrameOutput) throws -> Void) throws {
        let (audioIn, visualIn) = buffers.inputs(sequences: batch.sequences)
        for (h, head) in heads.enumerated() {
            var visual = visualIn
            if head.visualFeatures != buffers.visualWidth { visual = channelMaxima(of: visualIn) }
            let (v, a) = try timings.measure(.head) { try head.forward(audio: audioIn, visual: visual, threads: threads) }
            // A NaN would become a row of −1 after clipping: an error instead.
            try v.requireFinite(output: "valence", weights: weights[h])
            try a.requireFinite(output: "arousal", weights: weights[h])
            for row in 0..<batch.rows {
                let end = plan.clipEnd(batch: batch.index, row: row)
                if end <= batch.frameCount { smoother.set(frame: end, head: h, valence: Double(v.data[row]), arousal: Double(a.data[row])) }
            }
        }
        maxima = nil
        try timings.measure(.output) { try smoother.emitReady(known: batch.frameCount, final: false, emit) }
    }

    /// The input has ended after `frames` frames: the remaining rows.
    func finish(frames: Int, emit: (FrameOutput) throws -> Void) throws {
        try timings.measure(.output) { try smoother.emitReady(known: frames, final: true, emit) }
    }

    /// The (S, 16, 512) per-channel maxima of (S, 16, 25088) layer4 rows (channel-major: channel c's 49 positions
    /// are consecutive), computed once per batch.
    private func channelMaxima(of layer4: Tensor) -> Tensor {
        if let maxima, maxima.shape[0] == layer4.shape[0] { return maxima }
        let rows = layer4.shape[0] * layer4.shape[1]
        let out = Tensor(zeros: [layer4.shape[0], layer4.shape[1], audioFeatureWidth])
        Self.channelMaxima(layer4.pointer, rows: rows, into: out.pointer)
        maxima = out
        return out
    }

    /// Per-channel maxima of `rows` layer4 rows: the values `Pooling.globalMax` gives for the same activations
    /// (it compares positions 0…48 in order, starting from −∞, with `max`).
    static func channelMaxima(_ layer4: UnsafePointer<Float>, rows: Int, into out: UnsafeMutablePointer<Float>,
                              rowStride: Int = audioFeatureWidth) {
        let c = audioFeatureWidth, positions = layer4Positions
        for r in 0..<rows {
            let src = layer4 + r * c * positions, dst = out + r * rowStride
            for ch in 0..<c {
                var m = -Float.infinity
                let p = src + ch * positions
                for q in 0..<positions { m = max(m, p[q]) }
                dst[ch] = m
            }
        }
    }
}
