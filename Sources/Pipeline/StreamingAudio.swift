import Audio
import Media

/// Where an input's aligned mono 44.1 kHz samples come from: its audio decoder, or a test's array.
public protocol AudioSampleReader: AnyObject {
    /// Up to `maxSamples` further samples; empty at the end of the track.
    func read(maxSamples: Int) throws -> [Float]
}

extension AudioDecoder: AudioSampleReader {}

/// The audio track of one input, decoded only as far as the windows asked for so far need, and released behind
/// them: a few seconds of samples are held however long the input is.
///
/// Windows are asked for with non-decreasing starts (the block assembler's order); a window is the samples of its
/// range that exist in the track, left-padded with zeros to at least 45599 samples.
public final class StreamingAudio {
    private let reader: AudioSampleReader?
    /// Samples [base, base + buffer.count) of the aligned track.
    private var buffer: [Float] = []
    private var base = 0
    private var ended: Bool

    /// `reader` nil: the input has no audio.
    public init(reader: AudioSampleReader?) {
        self.reader = reader
        self.ended = reader == nil
    }

    public var hasAudio: Bool { reader != nil }

    /// The samples of `range`, left-padded with zeros to at least 45599, written into `out`.
    public func window(_ range: Range<Int>, into out: inout [Float]) throws {
        try readUntil(range.upperBound)
        let lo = max(range.lowerBound, base), hi = min(range.upperBound, base + buffer.count)
        let present = lo < hi ? lo..<hi : lo..<lo
        let length = max(AudioWindow.minimumLength, present.count)
        out.removeAll(keepingCapacity: true)
        out.append(contentsOf: repeatElement(0, count: length - present.count))
        if !present.isEmpty { out.append(contentsOf: buffer[(present.lowerBound - base)..<(present.upperBound - base)]) }
        release(before: range.lowerBound)
    }

    private func readUntil(_ end: Int) throws {
        guard let reader else { return }
        while !ended && base + buffer.count < end {
            let chunk = try reader.read(maxSamples: 1 << 15)
            if chunk.isEmpty { ended = true } else { buffer += chunk }
        }
    }

    /// The whole track from sample 0 (nil without audio), for an input held in memory (`RecordedInput`). Only
    /// before any window has been read.
    public func readAll() throws -> [Float]? {
        guard reader != nil else { return nil }
        precondition(base == 0, "readAll after windows were released")
        try readUntil(Int.max)
        return buffer
    }

    private func release(before index: Int) {
        let n = min(buffer.count, index - base)
        guard n > 4096 else { return }   // drop in chunks, not sample by sample
        buffer.removeFirst(n)
        base += n
    }
}
