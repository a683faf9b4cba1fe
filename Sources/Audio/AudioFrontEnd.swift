import Kernels

/// Window + spectrogram for one caller (thread/task): a `MelSpectrogram` workspace and a reusable window buffer.
/// Not thread-safe; make one per worker.
public final class AudioFrontEnd {
    public let mel: MelSpectrogram
    private var buffer: [Float] = []

    public init() throws {
        mel = try MelSpectrogram()
        buffer.reserveCapacity(2 * AudioWindow.minimumLength)
    }

    /// Time frames T of frame f's spectrogram: 1 + ⌊window length / 441⌋ (104 for windows up to 45599 samples).
    public static func spectrogramFrames(frame f: Int, of windows: AudioWindow) -> Int {
        MelSpectrogram.frameCount(samples: windows.windowLength(frame: f))
    }

    /// Frame f's normalized log-mel spectrogram into `output` (64 × T row-major, T from `spectrogramFrames`).
    public func spectrogram(frame f: Int, of windows: AudioWindow, into output: UnsafeMutableBufferPointer<Float>) throws {
        windows.fill(frame: f, into: &buffer)
        try buffer.withUnsafeBufferPointer { try mel.compute($0, into: output) }
    }

    /// Frame f's spectrogram as a (1, 64, T) tensor.
    public func spectrogram(frame f: Int, of windows: AudioWindow) throws -> Tensor {
        let t = Tensor(zeros: [1, MelSpectrogram.melBands, Self.spectrogramFrames(frame: f, of: windows)])
        try spectrogram(frame: f, of: windows, into: t.data)
        return t
    }
}
