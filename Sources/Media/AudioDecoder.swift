import CFFmpeg
import Foundation

/// Decoded audio: mono float samples at `sampleRate`, sample 0 at the first video frame's timestamp (or, decoded with
/// `alignTo: AudioDecoder.ownStart`, at the first decoded sample).
public struct AudioTrack: Sendable {
    public var samples: [Float]
    public let sampleRate: Int
    public var duration: Double { Double(samples.count) / Double(sampleRate) }
}

/// Streaming audio decoder for the first audio stream of a file: downmixed to mono and resampled to float at
/// `sampleRate` by libswresample (FFmpeg's default rematrix and resampler, as `ffmpeg -ac 1 -ar 44100` does),
/// aligned so that sample 0 sits at `alignTo` seconds of stream time (the first video frame's PTS): silence is
/// prepended when the audio starts later, samples are dropped when it starts earlier; `AudioDecoder.ownStart` keeps
/// the first decoded sample first. With `pcm16`, resampled to 16-bit instead (values k / 32768), as the ffmpeg CLI
/// writes a wav. `MediaInput.open` gives one that
/// shares its input with the video decoder; `open(path:)` opens a file for its audio alone.
public final class AudioDecoder {
    /// The rate the models' audio path needs (the reference's `ffmpeg -ar 44100`).
    public static let defaultSampleRate = 44100

    public let path: String
    public let sampleRate: Int
    public let codecName: String
    public let sourceSampleRate: Int
    public let sourceChannels: Int
    public private(set) var corruptPackets = 0

    private let demuxer: Demuxer
    private let streamIndex: Int32
    private let timeBase: Double
    private var codec: UnsafeMutablePointer<AVCodecContext>?
    private var packet: UnsafeMutablePointer<AVPacket>?
    private var frame: UnsafeMutablePointer<AVFrame>?
    private var swr: OpaquePointer?
    private let alignTo: Double?
    /// Resample straight to 16-bit (then ÷ 32768), as `ffmpeg -ar 44100 -ac 1 OUT.wav` does: libswresample then
    /// normalises the downmix matrix for an integer output (stereo → mono is (L + R) / 2, not the float path's
    /// −3 dB per channel) and rounds with lrintf. The official protocol's audio is that wav.
    private let pcm16: Bool
    private var alignmentResolved = false
    /// Zeros still to deliver before `buffer` (audio starting after the video): handed out as `read` asks, never
    /// materialised at once.
    private var pendingSilence = 0
    private var samplesToDrop = 0
    private var draining = false
    private var flushedResampler = false
    private var finished = false
    private var buffer: [Float] = []

    /// Opens the first audio stream of `path` (`-`: standard input) for the audio alone; nil when the file has none
    /// (not an error: audio is then missing).
    /// `alignTo`: stream time (s) that becomes sample 0; nil → the video stream's start time, or the audio's own start;
    /// `AudioDecoder.ownStart` → the first decoded sample, whatever its time (what `ffmpeg -i VIDEO OUT.wav` writes).
    /// `pcm16`: the samples of a 16-bit wav made by the ffmpeg command (see `pcm16` above), as floats.
    public static func open(path: String, sampleRate: Int = defaultSampleRate, alignTo: Double? = nil, pcm16: Bool = false) throws -> AudioDecoder? {
        let demuxer = try Demuxer(path: path)
        let input = demuxer.input
        guard let ai = input.bestStream(AVMEDIA_TYPE_AUDIO) else { return nil }
        var align = alignTo
        if align == nil, let vi = input.bestStream(AVMEDIA_TYPE_VIDEO) {
            let st = input.stream(vi)
            if st.pointee.start_time != CFF_AV_NOPTS_VALUE { align = Double(st.pointee.start_time) * st.pointee.time_base.seconds }
        }
        return try AudioDecoder(demuxer, stream: ai, sampleRate: sampleRate, alignTo: align, pcm16: pcm16)
    }

    /// `alignTo` value for "sample 0 is the first decoded sample" (no silence added, nothing dropped).
    public static let ownStart = -Double.infinity

    init(_ demuxer: Demuxer, stream: Int32, sampleRate: Int, alignTo: Double?, pcm16: Bool = false) throws {
        let input = demuxer.input
        self.pcm16 = pcm16
        self.demuxer = demuxer
        self.path = input.path
        self.streamIndex = stream
        self.sampleRate = sampleRate
        self.alignTo = alignTo
        let st = input.stream(stream)
        timeBase = st.pointee.time_base.seconds
        let c = try input.openDecoder(stream)
        codec = c
        codecName = String(cString: avcodec_get_name(c.pointee.codec_id))
        sourceSampleRate = Int(c.pointee.sample_rate)
        sourceChannels = Int(c.pointee.ch_layout.nb_channels)
        packet = av_packet_alloc()
        frame = av_frame_alloc()
        guard sourceSampleRate > 0, sourceChannels > 0 else {
            throw MediaError(.decodeFailed, path, "the audio stream declares no sample rate or channels", fix: "re-encode it, e.g. ffmpeg -i IN -c:v libx264 -c:a aac OUT.mp4")
        }
        demuxer.subscribe(stream)
    }

    deinit {
        demuxer.unsubscribe(streamIndex)
        av_frame_free(&frame)
        av_packet_free(&packet)
        avcodec_free_context(&codec)
        swr_free(&swr)
    }

    /// Audio packets given up because they lay too far from the video in a shared input (`MediaInput`): 0 when the
    /// audio track really ended where decoding stopped; more means the samples after that point are missing.
    /// Final once the video has been read to its end.
    public var lostPackets: Int { demuxer.lostPackets(streamIndex) }

    /// Up to `maxSamples` further aligned samples; an empty array at the end of the stream.
    public func read(maxSamples: Int = 1 << 16) throws -> [Float] {
        while pendingSilence + buffer.count < maxSamples && !finished {
            try decodeMore()
        }
        let zeros = min(maxSamples, pendingSilence)
        pendingSilence -= zeros
        let n = min(maxSamples - zeros, buffer.count)
        var out = [Float](repeating: 0, count: zeros)
        out += buffer.prefix(n)
        buffer.removeFirst(n)
        return out
    }

    /// Everything that is left.
    public func readAll() throws -> [Float] {
        var all: [Float] = []
        while true {
            let chunk = try read(maxSamples: 1 << 20)
            if chunk.isEmpty { return all }
            all += chunk
        }
    }

    private func decodeMore() throws {
        guard let codec, let frame, let packet else { finished = true; return }
        let r = avcodec_receive_frame(codec, frame)
        if r == 0 {
            defer { av_frame_unref(frame) }
            try resample(frame)
            return
        }
        if r == CFF_AVERROR_EOF {
            flushResampler()
            finished = true
            return
        }
        if r != CFF_AVERROR_EAGAIN { corruptPackets += 1; return }
        if draining { flushResampler(); finished = true; return }
        guard try demuxer.next(streamIndex, into: packet) else {
            draining = true
            avcodec_send_packet(codec, nil)
            return
        }
        defer { av_packet_unref(packet) }
        let s = avcodec_send_packet(codec, packet)
        if s < 0 && s != CFF_AVERROR_EAGAIN && s != CFF_AVERROR_EOF { corruptPackets += 1 }
    }

    private func setUpResampler(_ f: UnsafeMutablePointer<AVFrame>) throws {
        var inLayout = AVChannelLayout()
        if f.pointee.ch_layout.order == AV_CHANNEL_ORDER_UNSPEC || f.pointee.ch_layout.nb_channels == 0 {
            av_channel_layout_default(&inLayout, max(1, f.pointee.ch_layout.nb_channels))
        } else {
            av_channel_layout_copy(&inLayout, &f.pointee.ch_layout)
        }
        defer { av_channel_layout_uninit(&inLayout) }
        var outLayout = cff_layout_mono()
        let r = swr_alloc_set_opts2(&swr, &outLayout, pcm16 ? AV_SAMPLE_FMT_S16 : AV_SAMPLE_FMT_FLT, Int32(sampleRate),
                                    &inLayout, AVSampleFormat(rawValue: f.pointee.format), f.pointee.sample_rate, 0, nil)
        guard r >= 0, swr_init(swr) >= 0 else {
            throw MediaError(.decodeFailed, path, "cannot convert the audio to mono \(sampleRate) Hz", fix: "re-encode it, e.g. ffmpeg -i IN -c:v libx264 -c:a aac OUT.mp4")
        }
    }

    private func resolveAlignment(firstFrameTime: Double) throws {
        alignmentResolved = true
        guard let alignTo, alignTo.isFinite else { return }
        let offset = firstFrameTime - alignTo
        guard abs(offset) <= VideoDecoder.maxTimestamp else {
            throw MediaError(.decodeFailed, path, "the audio starts \(offset) s away from the video, beyond any real recording",
                             fix: VideoDecoder.damagedTimestampsFix)
        }
        let n = Int((offset * Double(sampleRate)).rounded())
        if n > 0 { pendingSilence = n } else { samplesToDrop = -n }
    }

    private func resample(_ f: UnsafeMutablePointer<AVFrame>) throws {
        if swr == nil { try setUpResampler(f) }
        if !alignmentResolved {
            var ts = f.pointee.best_effort_timestamp
            if ts == CFF_AV_NOPTS_VALUE { ts = f.pointee.pts }
            try resolveAlignment(firstFrameTime: ts == CFF_AV_NOPTS_VALUE ? (alignTo ?? 0) : Double(ts) * timeBase)
        }
        let capacity = Int(swr_get_out_samples(swr, f.pointee.nb_samples)) + 32
        let input = f.pointee.extended_data.withMemoryRebound(to: UnsafePointer<UInt8>?.self, capacity: 8) { $0 }
        append(convert(capacity: capacity) { swr_convert(swr, $0, Int32(capacity), input, f.pointee.nb_samples) })
    }

    /// Runs one swr_convert into a float buffer (or a 16-bit one, then ÷ 32768): the samples it produced.
    private func convert(capacity: Int, _ call: (UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>) -> Int32) -> ArraySlice<Float> {
        if pcm16 {
            var out = [Int16](repeating: 0, count: max(capacity, 1))
            let produced: Int32 = out.withUnsafeMutableBufferPointer { buf in
                var dst: UnsafeMutablePointer<UInt8>? = UnsafeMutableRawPointer(buf.baseAddress!).assumingMemoryBound(to: UInt8.self)
                return withUnsafeMutablePointer(to: &dst) { call($0) }
            }
            return produced > 0 ? out[0..<Int(produced)].map { Float($0) / 32768 }[...] : []
        }
        var out = [Float](repeating: 0, count: max(capacity, 1))
        let produced: Int32 = out.withUnsafeMutableBufferPointer { buf in
            var dst: UnsafeMutablePointer<UInt8>? = UnsafeMutableRawPointer(buf.baseAddress!).assumingMemoryBound(to: UInt8.self)
            return withUnsafeMutablePointer(to: &dst) { call($0) }
        }
        return produced > 0 ? out[0..<Int(produced)] : []
    }

    private func flushResampler() {
        guard let swr, !flushedResampler else { return }
        flushedResampler = true
        append(convert(capacity: 4096) { swr_convert(swr, $0, 4096, nil, 0) })
    }

    private func append(_ samples: ArraySlice<Float>) {
        var s = samples
        if samplesToDrop > 0 {
            let d = min(samplesToDrop, s.count)
            s = s.dropFirst(d)
            samplesToDrop -= d
        }
        buffer += s
    }
}

/// The whole first audio stream of a file, mono at `sampleRate`, aligned as `AudioDecoder` does;
/// nil when the file has no audio stream.
public func decodeAudio(path: String, sampleRate: Int = AudioDecoder.defaultSampleRate, alignTo: Double? = nil, pcm16: Bool = false) throws -> AudioTrack? {
    guard let d = try AudioDecoder.open(path: path, sampleRate: sampleRate, alignTo: alignTo, pcm16: pcm16) else { return nil }
    return AudioTrack(samples: try d.readAll(), sampleRate: sampleRate)
}
