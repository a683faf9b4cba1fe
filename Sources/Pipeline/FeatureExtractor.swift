/// A log-mel spectrogram: `bands` × `frames` values, band-major (row 0 = the lowest band).
public struct Spectrogram: Sendable, Equatable {
    public let bands: Int
    public let frames: Int
    public var values: [Float]

    public init(bands: Int, frames: Int, values: [Float]) {
        precondition(values.count == bands * frames, "\(values.count) values for \(bands) × \(frames)")
        self.bands = bands
        self.frames = frames
        self.values = values
    }
}

/// What the pipeline needs from the backbones. `BackboneFeatures` runs the real ones; tests give fake features
/// through this protocol, and other ways of making features (precision modes, skipped clips) can sit behind it.
///
/// Features are written straight into the head's input buffers, in the head's order: the pipeline hands each call
/// the place of its rows.
public protocol FeatureExtractor: AnyObject {
    /// Floats per visual feature row (the head's visual width: 25088, or 512 for a head on per-channel maxima).
    var visualWidth: Int { get }
    /// Clips per visual backbone call (the pipeline never passes more).
    var clipBatch: Int { get }
    /// The visual features of `clips` (each 8 packed 112×112 RGB crops, oldest first; nil is a black frame):
    /// clip i's row goes to `rows + i · rowStride`.
    func visualFeatures(of clips: [[[UInt8]?]], into rows: UnsafeMutablePointer<Float>, rowStride: Int) throws
    /// Audio, step 1: the spectrogram of one window of samples (already left-padded to at least 45599).
    func spectrogram(of window: [Float]) throws -> Spectrogram
    /// Audio, step 2: the 512 audio features of each spectrogram of a head batch, brought to a common length as
    /// `padding` says; spectrogram i's row goes to `rows[i]`.
    func audioFeatures(of spectrograms: [Spectrogram], padding: ProtocolRules.SpectrogramPadding,
                       into rows: [UnsafeMutablePointer<Float>]) throws
}

/// Floats per audio feature row (ResNet-18's pooled layer4).
public let audioFeatureWidth = 512
