import Audio
import Media

/// A video's audio as the official preprocessing prepares it (JCA `Preprocessing/audio_preprocess.py`,
/// `extract_audio`): `ffmpeg -i VIDEO -ar 44100 -ac 1 temp.wav` (the first decoded sample first, resampled straight
/// to 16-bit), then SoX pads it with, or trims, `offset_ms = int(audio_start) − int(video_start)` of the mkvmerge
/// remux's timestamps. Streamed: only the decoder's own buffer is held.
public final class OfficialAudioReader: AudioSampleReader {
    private let decoder: AudioDecoder
    private var pad: Int
    private var trim: Int

    /// nil when the video has no audio stream.
    public static func open(video: String, timestamps: MatroskaTimestamps) throws -> OfficialAudioReader? {
        guard let decoder = try AudioDecoder.open(path: video, alignTo: AudioDecoder.ownStart, pcm16: true) else { return nil }
        return OfficialAudioReader(decoder: decoder, offsetMilliseconds: timestamps.audioOffsetMilliseconds ?? 0)
    }

    init(decoder: AudioDecoder, offsetMilliseconds: Int) {
        self.decoder = decoder
        let n = SoXOffset.samples(milliseconds: offsetMilliseconds)
        pad = offsetMilliseconds >= 0 ? n : 0
        trim = offsetMilliseconds < 0 ? n : 0
    }

    public func read(maxSamples: Int) throws -> [Float] {
        if pad > 0 {
            let n = min(pad, maxSamples)
            pad -= n
            return [Float](repeating: 0, count: n)
        }
        while trim > 0 {
            let chunk = try decoder.read(maxSamples: min(trim, 1 << 16))
            if chunk.isEmpty { trim = 0; return [] }
            trim -= chunk.count
        }
        return try decoder.read(maxSamples: maxSamples)
    }
}
