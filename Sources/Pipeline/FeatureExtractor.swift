import Audio
import Foundation
import Kernels
import Models

/// Runs the backbones on the clips the pipeline assembles: visual features (25088, or 512 per-channel maxima for
/// JMT) from 8-frame clips, audio features (512) from each clip's own spectrogram. The features of a black clip
/// and of a silent window are the same for every such clip and are computed once.
final class FeatureExtractor {
    let model: EmotionModel
    let visualWidth: Int
    let clipBatch: Int
    let threads: Int
    private let visualWorkspace = R2Plus1D18.Workspace()
    private let audioWorkspace = ResNet18.Workspace()
    private let mel: MelSpectrogram
    private var blackClipFeature: [Float]?
    private var silentFeature: [Float]?
    private var spectrogram: [Float] = []

    init(model: EmotionModel, clipBatch: Int, threads: Int) throws {
        self.threads = threads
        self.model = model
        self.visualWidth = model.visualIsMaxPooled ? 512 : 512 * 49
        self.clipBatch = max(1, clipBatch)
        mel = try MelSpectrogram()
    }

    /// Visual features of `clips` (each 8 crops, nil = black), written row by row into `out` (count × visualWidth).
    func visual(_ clips: [[[UInt8]?]], into out: UnsafeMutablePointer<Float>, timings: StageTimings) throws {
        var start = 0
        while start < clips.count {
            let n = min(clipBatch, clips.count - start)
            let input = Tensor(zeros: [n, 3, 8, cropSize, cropSize])
            let per = 3 * 8 * cropSize * cropSize
            for i in 0..<n { ClipNormalization.write(clips[start + i], to: input.pointer + i * per) }
            let o = try timings.measure(.visualBackbone) {
                try model.visual.forward(input, workspace: visualWorkspace, wantMax: model.visualIsMaxPooled, threads: threads)
            }
            let source = model.visualIsMaxPooled ? o.maxPooled! : o.layer4
            (out + start * visualWidth).update(from: source.pointer, count: n * visualWidth)
            start += n
        }
    }

    /// The visual feature of an all-black clip (frames past the end of the video).
    func blackClip(timings: StageTimings) throws -> [Float] {
        if let f = blackClipFeature { return f }
        var f = [Float](repeating: 0, count: visualWidth)
        try f.withUnsafeMutableBufferPointer { try visual([[[UInt8]?]](repeating: [[UInt8]?](repeating: nil, count: 8), count: 1), into: $0.baseAddress!, timings: timings) }
        blackClipFeature = f
        return f
    }

    /// The audio feature of one window of samples (already left-padded to ≥ 45599).
    func audio(window: [Float], into out: UnsafeMutablePointer<Float>, timings: StageTimings) throws {
        let frames = MelSpectrogram.frameCount(samples: window.count)
        let spec = Tensor(zeros: [1, 1, MelSpectrogram.melBands, frames])
        try timings.measure(.audio) {
            try window.withUnsafeBufferPointer { try mel.compute($0, into: spec.data) }
        }
        let f = try timings.measure(.audioBackbone) { try model.audio.forward(spec, workspace: audioWorkspace, threads: threads) }
        out.update(from: f.pointer, count: 512)
    }

    /// The audio feature of a silent window (no audio, or clips past the end of the video).
    func silence(timings: StageTimings) throws -> [Float] {
        if let f = silentFeature { return f }
        var f = [Float](repeating: 0, count: 512)
        try f.withUnsafeMutableBufferPointer {
            try audio(window: [Float](repeating: 0, count: AudioWindow.minimumLength), into: $0.baseAddress!, timings: timings)
        }
        silentFeature = f
        return f
    }
}
