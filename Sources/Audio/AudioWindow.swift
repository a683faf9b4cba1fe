import Foundation

/// The audio under each video frame's clip: the contract's rule "samples from the timestamp of frame f−31 (or 0)
/// to the timestamp of frame f; if shorter than 45599 samples, left-pad with zeros to 45599".
///
/// Input: the decoded mono 44.1 kHz track, aligned so that sample 0 is at the first video frame's PTS, and the
/// video frames' timestamps in seconds (first frame at 0), in presentation order. Frames are 1-based.
///
/// Sample rounding: a timestamp t maps to sample index round(t · 44100), nearest sample with halves away from
/// zero. The window of frame f is the half-open range [index(ts[f−31]), index(ts[f])) (start 0 when f < 32),
/// intersected with the samples that exist. So consecutive windows 32 frames apart tile the track exactly.
///
/// Missing audio (no audio stream, a window past the end of the track, or a frame past the end of the video) gives
/// zero samples, i.e. a window of 45599 zeros: the reference turns a missing WAV into 45599 zeros too, which the
/// spectrogram maps to the constant `MelSpectrogram.silentValue` (64 × 104). See docs/audio.md.
public struct AudioWindow: Sendable {
    public static let sampleRate = MelSpectrogram.sampleRate
    /// Windows shorter than this are left-padded with zeros (the reference's loaders do the same).
    public static let minimumLength = 45599
    /// A window spans the 32 frames f−31 … f, i.e. from the timestamp of frame f−31 to that of frame f.
    public static let framesPerWindow = 32
    /// Timestamps are accepted within ±this many seconds (about 31.7 years, as Media's `VideoDecoder.maxTimestamp`):
    /// their sample indices (× 44100, ≤ 4.41e13) and the differences of two stay exact integers, far from overflow.
    public static let maxSeconds = 1e9

    /// The aligned 44.1 kHz mono samples; nil when the video has no audio stream.
    public let samples: [Float]?
    /// Video frame timestamps in seconds (index 0 = frame 1, at 0).
    public let frameTimestamps: [Double]

    public var frameCount: Int { frameTimestamps.count }
    public var hasAudio: Bool { samples != nil }

    /// - Throws: when the sample rate is not 44100 Hz or a timestamp is not finite or beyond ±`maxSeconds`.
    public init(samples: [Float]?, sampleRate: Int = AudioWindow.sampleRate, frameTimestamps: [Double]) throws {
        guard sampleRate == Self.sampleRate else {
            throw AudioError("AudioWindow: samples are at \(sampleRate) Hz; decode/resample the audio to \(Self.sampleRate) Hz first")
        }
        if let bad = frameTimestamps.firstIndex(where: { !(abs($0) <= Self.maxSeconds) }) {
            throw AudioError("AudioWindow: timestamp of frame \(bad + 1) is \(frameTimestamps[bad]); timestamps must be finite seconds "
                             + "within ±\(Self.maxSeconds)")
        }
        self.samples = samples
        self.frameTimestamps = frameTimestamps
    }

    /// Timestamp (seconds) → sample index: the nearest sample, halves away from zero.
    /// - Throws: when `t` is not finite or beyond ±`maxSeconds` (its index would not be a sample of any recording, and
    ///   past ±2.09e14 s would not even fit an `Int`).
    public static func sampleIndex(seconds t: Double) throws -> Int {
        guard abs(t) <= maxSeconds else {
            throw AudioError("AudioWindow: timestamp \(t) s is not within ±\(maxSeconds) s, so it has no sample index")
        }
        return index(t)
    }

    /// `sampleIndex` for a timestamp already known to be within ±`maxSeconds`.
    static func index(_ t: Double) -> Int {
        Int((t * Double(sampleRate)).rounded(.toNearestOrAwayFromZero))
    }

    /// The nominal sample range of frame f's window from the timestamps alone (before clamping to the track):
    /// [index(ts[f−31]), index(ts[f])), start 0 for f < 32; empty when the timestamps decrease.
    public func nominalRange(frame f: Int) -> Range<Int> {
        precondition(f >= 1 && f <= frameCount, "AudioWindow: frame \(f) outside 1…\(frameCount)")
        // The initializer checked every timestamp's range.
        let start = f < Self.framesPerWindow ? 0 : max(0, Self.index(frameTimestamps[f - Self.framesPerWindow]))
        let end = max(start, Self.index(frameTimestamps[f - 1]))
        return start..<end
    }

    /// The samples of frame f's window that exist in the track (empty without audio or past the track's end).
    /// Frames past the end of the video (clips the sequence layout adds and then discards) are empty too.
    public func sampleRange(frame f: Int) -> Range<Int> {
        precondition(f >= 1, "AudioWindow: frames are 1-based, got \(f)")
        guard let samples, f <= frameCount else { return 0..<0 }
        return nominalRange(frame: f).clamped(to: 0..<samples.count)
    }

    /// Length of frame f's window after left padding: max(45599, sample count).
    public func windowLength(frame f: Int) -> Int { max(Self.minimumLength, sampleRange(frame: f).count) }

    /// Writes frame f's window, left-padded with zeros to 45599, into `buffer` (resized; its capacity is reused,
    /// so a caller that keeps one buffer does not allocate once it has grown to the longest window).
    public func fill(frame f: Int, into buffer: inout [Float]) {
        let range = sampleRange(frame: f)
        let length = max(Self.minimumLength, range.count)
        let pad = length - range.count
        if buffer.count != length {
            buffer.removeAll(keepingCapacity: true)
            buffer.append(contentsOf: repeatElement(0, count: length))
        }
        buffer.withUnsafeMutableBufferPointer { dst in
            let base = dst.baseAddress!
            base.update(repeating: 0, count: pad)
            if let samples, !range.isEmpty {
                samples.withUnsafeBufferPointer { src in
                    (base + pad).update(from: src.baseAddress! + range.lowerBound, count: range.count)
                }
            }
        }
    }

    /// Frame f's window, left-padded with zeros to 45599 samples.
    public func window(frame f: Int) -> [Float] {
        var b = [Float]()
        fill(frame: f, into: &b)
        return b
    }
}
