import Audio
import Media

/// The per-frame audio windows of `AudioWindow`, computed while the audio is decoded, so that only a few seconds
/// of samples are held however long the video is.
///
/// Same rule and rounding as `AudioWindow`: frame f's window is [index(ts[f−31]), index(ts[f])) (start 0 for
/// f < 32), clamped to the samples that exist, left-padded with zeros to 45599. Frames must be asked for in
/// increasing order; their timestamps are given as they are decoded.
public final class StreamingAudioWindow {
    private let decoder: AudioDecoder?
    /// Samples [base, base + buffer.count) of the aligned track.
    private var buffer: [Float] = []
    private var base = 0
    private var ended: Bool
    /// Timestamps of the last 32 frames given, oldest first, with the number of the newest.
    private var recentTimes: [Double] = []
    private var newestFrame = 0

    /// `decoder` nil: the video has no audio, every window is silent.
    public init(decoder: AudioDecoder?) {
        self.decoder = decoder
        self.ended = decoder == nil
    }

    public var hasAudio: Bool { decoder != nil }

    /// Records the timestamp of the next frame (frames 1, 2, … in order).
    public func addFrame(time: Double) {
        recentTimes.append(time)
        if recentTimes.count > AudioWindow.framesPerWindow { recentTimes.removeFirst() }
        newestFrame += 1
    }

    /// The window of the newest frame given, left-padded to at least 45599 samples, written into `out`.
    public func fillNewest(into out: inout [Float]) throws {
        let f = newestFrame
        precondition(f >= 1, "no frame given yet")
        let start = f < AudioWindow.framesPerWindow ? 0 : max(0, try AudioWindow.sampleIndex(seconds: recentTimes[0]))
        let end = max(start, try AudioWindow.sampleIndex(seconds: recentTimes[recentTimes.count - 1]))
        try readUntil(end)
        // Keep only what later windows can still need: they start at or after this one's start.
        let lo = max(start, base), hi = min(end, base + buffer.count)
        let range = lo < hi ? lo..<hi : lo..<lo
        let length = max(AudioWindow.minimumLength, range.count)
        out.removeAll(keepingCapacity: true)
        out.append(contentsOf: repeatElement(0, count: length - range.count))
        if !range.isEmpty { out.append(contentsOf: buffer[(range.lowerBound - base)..<(range.upperBound - base)]) }
        discard(before: start)
    }

    private func readUntil(_ end: Int) throws {
        guard let decoder else { return }
        while !ended && base + buffer.count < end {
            let chunk = try decoder.read(maxSamples: 1 << 15)
            if chunk.isEmpty { ended = true } else { buffer += chunk }
        }
    }

    private func discard(before index: Int) {
        let n = min(buffer.count, index - base)
        guard n > 4096 else { return }   // drop in chunks, not sample by sample
        buffer.removeFirst(n)
        base += n
    }
}
