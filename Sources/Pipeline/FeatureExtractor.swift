import Models

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
    /// The same, told which frame of the input each crop is (`frames[i][t]`, nil for a black frame): within one input
    /// equal numbers are the same crop, so an extractor may reuse work already done for another clip (the results
    /// must not change). The default ignores the numbers.
    func visualFeatures(of clips: [[[UInt8]?]], frames: [[Int?]], into rows: UnsafeMutablePointer<Float>, rowStride: Int) throws
    /// A new input begins: frame numbers start again from 1 (forget what was kept for the last one).
    func beginInput()
    /// Audio, step 1: the spectrogram of one window of samples (already left-padded to at least 45599).
    func spectrogram(of window: [Float]) throws -> Spectrogram
    /// Audio, step 2: the 512 audio features of each spectrogram of a head batch, brought to a common length as
    /// `padding` says; spectrogram i's row goes to `rows[i]`.
    func audioFeatures(of spectrograms: [Spectrogram], padding: ProtocolRules.SpectrogramPadding,
                       into rows: [UnsafeMutablePointer<Float>]) throws
}

extension FeatureExtractor {
    public func visualFeatures(of clips: [[[UInt8]?]], frames: [[Int?]], into rows: UnsafeMutablePointer<Float>, rowStride: Int) throws {
        try visualFeatures(of: clips, into: rows, rowStride: rowStride)
    }
    public func beginInput() {}
}

/// Floats per audio feature row (ResNet-18's pooled layer4).
public let audioFeatureWidth = ResNet18.features
