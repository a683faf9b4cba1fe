import Audio
import Kernels
import Models

/// The real features: TSAV's R(2+1)D-18 on 8-frame clips (layer4 flattened channel-major, or its per-channel
/// maximum for JMT) and its ResNet-18 on each clip's log-mel spectrogram. Holds the per-run buffers; the weights
/// belong to the shared, immutable `EmotionModel`.
public final class BackboneFeatures: FeatureExtractor {
    public let model: EmotionModel
    public let visualWidth: Int
    public let clipBatch: Int
    public let threads: Int
    private let visualWorkspace = R2Plus1D18.Workspace()
    private let audioWorkspace = ResNet18.Workspace()
    /// Work of earlier clips of the current input that later clips reuse (exact; `ClipReuse`).
    private var reuse = ClipReuse()
    /// Stem and layer1 work skipped by reuse so far, for the run summary.
    public var reuseStatistics: ClipReuse { reuse }
    private let mel: MelSpectrogram
    /// Normalized clips of one backbone call.
    private var clipInput: Tensor

    public init(model: EmotionModel, clipBatch: Int = 4, threads: Int) throws {
        self.model = model
        // The per-channel maxima when every head takes them (JMT alone); else layer4 (other heads, several heads of
        // both kinds — HeadStage pools for JMT — or none: the features cache keeps layer4).
        self.visualWidth = model.visualIsMaxPooled ? audioFeatureWidth : HeadStage.layer4Width
        self.clipBatch = max(1, clipBatch)
        self.threads = threads
        mel = try MelSpectrogram()
        clipInput = Tensor(zeros: [self.clipBatch, 3, ClipSampling.clipLength, cropSize, cropSize])
    }

    public func visualFeatures(of clips: [[[UInt8]?]], into rows: UnsafeMutablePointer<Float>, rowStride: Int) throws {
        try visualFeatures(of: clips, frameKeys: nil, into: rows, rowStride: rowStride)
    }

    public func visualFeatures(of clips: [[[UInt8]?]], frames: [[Int?]], into rows: UnsafeMutablePointer<Float>, rowStride: Int) throws {
        precondition(frames.count == clips.count && frames.allSatisfy { $0.count == ClipSampling.clipLength }, "one frame number per crop")
        // A frame without a crop is black, whatever its number: one key for all of them (frame numbers are ≥ 1).
        var keys: [Int] = []
        keys.reserveCapacity(clips.count * ClipSampling.clipLength)
        for (clip, numbers) in zip(clips, frames) {
            for (crop, number) in zip(clip, numbers) { keys.append(crop == nil ? 0 : (number ?? 0)) }
        }
        try visualFeatures(of: clips, frameKeys: keys, into: rows, rowStride: rowStride)
    }

    public func beginInput() { reuse = ClipReuse() }

    private func visualFeatures(of clips: [[[UInt8]?]], frameKeys: [Int]?, into rows: UnsafeMutablePointer<Float>, rowStride: Int) throws {
        let n = clips.count
        precondition(n <= clipBatch, "at most \(clipBatch) clips per call")
        guard n > 0 else { return }
        let perClip = 3 * ClipSampling.clipLength * cropSize * cropSize
        for (i, clip) in clips.enumerated() { ClipNormalization.write(clip, to: clipInput.pointer + i * perClip) }
        // The backbone writes each clip's features straight into its row of the head's input (`rowStride` apart).
        let maxPooled = model.visualIsMaxPooled
        model.visual.forward(clips: clipInput.pointer, n: n, t: ClipSampling.clipLength, h: cropSize, w: cropSize,
                             workspace: visualWorkspace, layer4: maxPooled ? nil : rows, pooled: nil,
                             maxPooled: maxPooled ? rows : nil, outputStride: rowStride, threads: threads,
                             frameKeys: frameKeys, reuse: frameKeys == nil ? nil : reuse)
        for i in 0..<n {
            try FiniteOutput.require(rows + i * rowStride, count: visualWidth, output: "visual feature", weights: model.backbonesPath)
        }
    }

    public func spectrogram(of window: [Float]) throws -> Spectrogram {
        let frames = MelSpectrogram.frameCount(samples: window.count)
        var values = [Float](repeating: 0, count: MelSpectrogram.melBands * frames)
        try window.withUnsafeBufferPointer { w in try values.withUnsafeMutableBufferPointer { try mel.compute(w, into: $0) } }
        return Spectrogram(bands: MelSpectrogram.melBands, frames: frames, values: values)
    }

    public func audioFeatures(of spectrograms: [Spectrogram], padding: ProtocolRules.SpectrogramPadding,
                              into rows: [UnsafeMutablePointer<Float>]) throws {
        precondition(spectrograms.count == rows.count, "one row per spectrogram")
        // `leftPadToLongest`: zeros before each spectrogram's first column (the normalised domain), up to the
        // batch's longest; `none`: each at its own length.
        let longest = padding == .leftPadToLongest ? spectrograms.map(\.frames).max() ?? 0 : 0
        var padded = [Float]()
        for (s, row) in zip(spectrograms, rows) {
            let lead = max(0, longest - s.frames)
            if lead > 0 {
                padded.removeAll(keepingCapacity: true)
                padded.reserveCapacity(s.bands * longest)
                for band in 0..<s.bands {
                    padded.append(contentsOf: repeatElement(0, count: lead))
                    padded.append(contentsOf: s.values[(band * s.frames)..<((band + 1) * s.frames)])
                }
            }
            (lead > 0 ? padded : s.values).withUnsafeBufferPointer {
                model.audio.forward(spectrograms: $0.baseAddress!, n: 1, height: s.bands, frames: s.frames + lead,
                                    workspace: audioWorkspace, features: row, threads: threads)
            }
            try FiniteOutput.require(row, count: ResNet18.features, output: "audio feature", weights: model.backbonesPath)
        }
    }
}
