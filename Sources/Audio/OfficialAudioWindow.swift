/// The per-frame audio of the official test path, sample for sample.
///
/// JCA `Preprocessing/audio_preprocess.py` (`main`, the loop over `lines`) cuts one wav per timestamp line j
/// (0-based; frame f = j + 1) out of the prepared 44.1 kHz wav with
/// `ffmpeg -i WAV -ss str(timedelta(seconds=start)) -to str(timedelta(seconds=end)) …`, where
///   start = 0 for j < 31, else lines[j − 31] / 1000;   end = lines[j] / 1000, or lines[j + 1] / 1000 when that is 0
/// (so frame 1 gets [0, ts[2]] when the first frame is at 0, and [0, ts[1]] otherwise — never an empty window).
/// Every line gets a wav, the end-time line included. `datasets/dataset_test.py` (`load_aud_data`) then reads it
/// (16-bit → /32768), left-pads it with zeros to 45599 samples when shorter, and reads a missing wav (frames past
/// the last line) as 45599 zeros.
public struct OfficialAudioWindows: Sendable {
    public static let sampleRate = 44100

    /// Timestamp lines in milliseconds (frames, then the end-time line), as in `<video>_video_ts.txt`.
    public let milliseconds: [Double]

    public init(milliseconds: [Double]) {
        self.milliseconds = milliseconds
    }

    /// Frames that have a wav: one per timestamp line.
    public var wavCount: Int { milliseconds.count }

    /// The sample range ffmpeg cuts for frame f (1-based) out of the prepared wav, before it is clamped to the
    /// wav's length; nil when the official preprocessing writes no wav for f.
    public func range(frame f: Int) -> Range<Int>? {
        let j = f - 1
        guard j >= 0, j < milliseconds.count else { return nil }
        let start = j < AudioWindow.framesPerWindow - 1 ? 0.0 : milliseconds[j - (AudioWindow.framesPerWindow - 1)] / 1000
        var end = milliseconds[j] / 1000
        if end == 0, j + 1 < milliseconds.count { end = milliseconds[j + 1] / 1000 }
        return FFmpegCut.samples(start: start, end: end, sampleRate: Self.sampleRate)
    }
}

/// What `ffmpeg -i WAV -ss SS -to TO OUT.wav` keeps (output-side seeking: the whole input is decoded, then trimmed).
public enum FFmpegCut {
    /// Microseconds of `str(datetime.timedelta(seconds: s))`: Python rounds to the microsecond (halves to even);
    /// ffmpeg parses the "H:MM:SS.ffffff" text exactly.
    public static func microseconds(_ seconds: Double) -> Int64 {
        Int64((seconds * 1e6).rounded(.toNearestOrEven))
    }

    /// The samples kept: the first at round(ss · sr), then round((to − ss) · sr) of them (ffmpeg's trim takes a start
    /// and a duration, each rounded to the nearest sample, halves up) — not round(to · sr) − round(ss · sr): the two
    /// differ by one sample for 245 of the 601 windows of the 29.97 fps fixture.
    public static func samples(start: Double, end: Double, sampleRate: Int) -> Range<Int> {
        let ss = microseconds(start), to = microseconds(end)
        let first = rescale(ss, sampleRate), count = max(0, rescale(to - ss, sampleRate))
        return first..<(first + count)
    }

    /// round(us · sr / 10⁶), halves away from zero (av_rescale's default rounding).
    static func rescale(_ us: Int64, _ sampleRate: Int) -> Int {
        let x = us * Int64(sampleRate)   // < 2⁶³ for any video shorter than 6600 years
        let h: Int64 = 500_000
        return Int(x >= 0 ? (x + h) / 1_000_000 : -((-x + h) / 1_000_000))
    }
}

/// `extract_audio`'s last step: SoX pads the wav with `offset_ms` of silence at the start (offset ≥ 0) or trims that
/// much (offset < 0), `offset_ms = int(audio_start) − int(video_start)` from the two mkvextract timestamp files.
/// SoX turns the time into samples as round(seconds · rate), halves up (`lsx_parsesamples`).
public enum SoXOffset {
    public static func samples(milliseconds: Int, sampleRate: Int = OfficialAudioWindows.sampleRate) -> Int {
        Int((Double(abs(milliseconds)) / 1000 * Double(sampleRate) + 0.5).rounded(.down))
    }

}
