import CFFmpeg
import Foundation

/// The frame timestamps the official audio preparation works with (JCA `Preprocessing/audio_preprocess.py`,
/// `extract_audio`): the video is remuxed by `mkvmerge`, then `mkvextract … timestamps_v2 0:<video>_video_ts.txt`
/// writes one line per video frame (milliseconds, presentation order) **plus an end-time line** (the last frame's
/// timestamp + its duration), and `timestamps_v2 1:` gives the audio track's first timestamp.
///
/// Either read from such a file, or derived from the container the way mkvmerge makes them (checked against
/// mkvmerge 74 / mkvextract in Tests/MediaTests/MatroskaTimestampsTests):
///   - every timestamp in integer nanoseconds, truncated: ns = ⌊pts · 10⁹ · tb⌋ (toward zero), with FFmpeg's
///     presentation timestamps (edit lists applied: the video's B-frame delay removed, AAC priming packets kept at
///     their negative time, e.g. −1024 samples = −21.333 ms);
///   - all tracks shifted together so that the earliest first timestamp of the video and audio tracks is 0;
///   - a block's timestamp rounded to the nearest millisecond (Matroska's 1 ms timestamp scale), halves up;
///   - the end-time line: the last frame's rounded timestamp + its duration in ns (not rounded).
/// One known difference: a timestamp exactly halfway between two milliseconds after the shift (every 30th frame at
/// 30000/1001 fps with 1024 priming samples at 48 kHz) is rounded by mkvmerge relative to its cluster's start, which
/// sends a few of them up instead of down: 1 of the 600 frames of the 29.97 fps fixture is 1 ms later in mkvmerge's
/// file (its window ends 44 samples later). Reading the file itself (`init(timestampsFile:)`) has no such difference.
/// The official script assumes track 0 is the video and track 1 the audio (as in Aff-Wild2's files); this uses the
/// video and audio streams FFmpeg picks, whatever their order.
public struct MatroskaTimestamps: Sendable, Equatable {
    /// One value per video frame (ms), then the end-time line: `frameCount + 1` values, as the file's lines.
    public let milliseconds: [Double]
    /// The audio track's first timestamp (ms), when known (derived from a container with audio).
    public let audioStartMilliseconds: Double?

    public init(milliseconds: [Double], audioStartMilliseconds: Double?) {
        self.milliseconds = milliseconds
        self.audioStartMilliseconds = audioStartMilliseconds
    }

    /// Video frames (the file's lines less the end-time line).
    public var frameCount: Int { max(0, milliseconds.count - 1) }

    /// `offset_ms = int(audio_start) - int(video_start)`: how `extract_audio` pads (> 0) or trims (< 0) the wav.
    public var audioOffsetMilliseconds: Int? {
        guard let a = audioStartMilliseconds, let v = milliseconds.first else { return nil }
        return Int(a) - Int(v)
    }

    /// Reads an `mkvextract timestamps_v2` file (`# timestamp format v2`, then one number per line).
    public init(timestampsFile path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw MediaError(FileManager.default.fileExists(atPath: path) ? .decodeFailed : .notFound, path,
                             FileManager.default.fileExists(atPath: path) ? "cannot read the timestamps file" : "no such file")
        }
        let lines = String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
        guard lines.first == "# timestamp format v2" else {
            throw MediaError(.badSequence, path, "is not an mkvextract timestamps_v2 file (its first line must be '# timestamp format v2')")
        }
        var ms: [Double] = []
        for (i, line) in lines.dropFirst().enumerated() where !line.isEmpty {
            guard let v = Double(line), v.isFinite, v >= 0 else {
                throw MediaError(.badSequence, path, "line \(i + 2) is not a timestamp in milliseconds: '\(line.prefix(40))'")
            }
            if let last = ms.last, v < last {
                throw MediaError(.badSequence, path, "line \(i + 2): timestamps must not decrease (\(v) after \(last))")
            }
            ms.append(v)
        }
        guard ms.count >= 2 else {
            throw MediaError(.badSequence, path, "holds \(ms.count) timestamp(s); a video needs one per frame and the end-time line")
        }
        self.init(milliseconds: ms, audioStartMilliseconds: nil)
    }

    /// Timestamps of a constant-rate video of `frames` frames starting at 0 with its audio (what mkvmerge writes for
    /// one without B-frame delay or audio priming): frame k at round(k · 1000 / fps) ms, then the end-time line.
    public static func constantRate(frames: Int, frameRate: Double) -> MatroskaTimestamps {
        let step = 1000 / frameRate
        var ms = (0..<max(1, frames)).map { (Double($0) * step).rounded(.toNearestOrAwayFromZero) }
        ms.append(ms[ms.count - 1] + (step * 1e6).rounded(.towardZero) / 1e6)
        return MatroskaTimestamps(milliseconds: ms, audioStartMilliseconds: 0)
    }

    /// The timestamps mkvmerge + mkvextract would write for this file, read from its packets (nothing is decoded).
    public static func ofRemux(path: String) throws -> MatroskaTimestamps {
        let input = try FormatInput(path: path)
        guard let vi = input.bestStream(AVMEDIA_TYPE_VIDEO) else { throw MediaError(.noVideoStream, path, "has no video stream") }
        let ai = input.bestStream(AVMEDIA_TYPE_AUDIO)
        func nanoseconds(_ t: Int64, _ s: Int32) -> Int64 {
            let tb = input.stream(s).pointee.time_base
            return av_rescale_rnd(t, 1_000_000_000 * Int64(tb.num), Int64(tb.den), AV_ROUND_ZERO)
        }
        var video: [(pts: Int64, duration: Int64)] = []
        var firstAudio: Int64?
        // Times beyond any real video (a damaged or hostile file) would overflow the nanosecond arithmetic below:
        // refused like the decoder refuses them (|t| ≤ VideoDecoder.maxTimestamp keeps every sum within Int64).
        var firstVideoSeconds: Double?
        func checked(_ t: Int64, _ s: Int32, what: () -> String) throws {
            let seconds = Double(t) * av_q2d(input.stream(s).pointee.time_base)
            let from = firstVideoSeconds ?? seconds
            guard seconds.isFinite, abs(seconds) <= VideoDecoder.maxTimestamp, abs(seconds - from) <= VideoDecoder.maxTimestamp else {
                throw MediaError(.decodeFailed, path, "\(what()) is stamped \(seconds - from) s after the first frame, beyond any real video",
                                 fix: VideoDecoder.damagedTimestampsFix)
            }
        }
        // A duration is a length, not a time: only its size is checked.
        func checkedDuration(_ d: Int64, _ s: Int32, frame: Int) throws {
            let seconds = Double(d) * av_q2d(input.stream(s).pointee.time_base)
            guard seconds.isFinite, seconds <= VideoDecoder.maxTimestamp else {
                throw MediaError(.decodeFailed, path, "frame \(frame) is stamped to last \(seconds) s, beyond any real video",
                                 fix: VideoDecoder.damagedTimestampsFix)
            }
        }
        guard let packet = av_packet_alloc() else { throw MediaError(.decodeFailed, path, "out of memory") }
        var p: UnsafeMutablePointer<AVPacket>? = packet
        defer { av_packet_free(&p) }
        while av_read_frame(input.ctx, packet) >= 0 {
            defer { av_packet_unref(packet) }
            let s = packet.pointee.stream_index
            var t = packet.pointee.pts
            if t == CFF_AV_NOPTS_VALUE { t = packet.pointee.dts }
            guard t != CFF_AV_NOPTS_VALUE else { continue }
            if s == vi {
                try checked(t, s) { "frame \(video.count + 1)" }
                if firstVideoSeconds == nil { firstVideoSeconds = Double(t) * av_q2d(input.stream(s).pointee.time_base) }
                let duration = max(0, packet.pointee.duration)
                try checkedDuration(duration, s, frame: video.count + 1)
                video.append((nanoseconds(t, s), nanoseconds(duration, s)))
            } else if s == ai {
                try checked(t, s) { "an audio packet" }
                let ns = nanoseconds(t, s)
                firstAudio = min(firstAudio ?? ns, ns)
            }
        }
        guard !video.isEmpty else { throw MediaError(.decodeFailed, path, "its video stream holds no timestamped packets") }
        video.sort { $0.pts < $1.pts }
        let shift = -min(video[0].pts, firstAudio ?? video[0].pts)
        // Shifted times are ≥ 0: integer division after + 0.5 ms rounds halves up.
        func rounded(_ ns: Int64) -> Int64 { (ns + shift + 500_000) / 1_000_000 }
        var ms = video.map { Double(rounded($0.pts)) }
        ms.append(ms[ms.count - 1] + Double(video[video.count - 1].duration) / 1e6)
        return MatroskaTimestamps(milliseconds: ms, audioStartMilliseconds: firstAudio.map { Double(rounded($0)) })
    }
}

/// Quick questions about a media file, without decoding it.
public enum MediaProbe {
    /// Whether the file holds a video stream (cover art aside): a crop folder's `--audio` may be the original video.
    public static func hasVideo(path: String) throws -> Bool {
        try FormatInput(path: path).bestStream(AVMEDIA_TYPE_VIDEO) != nil
    }
}
