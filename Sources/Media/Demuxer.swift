import CFFmpeg

/// One opened input read once, front to back, for every decoder of it: a decoder asks for the next packet of its
/// stream; packets of another subscribed stream read on the way are queued for that stream's decoder, and packets of
/// streams nobody decodes are dropped. So a video and its audio are decoded from a single open of the input — which is
/// what makes FIFOs and standard input work — and nothing is ever seeked.
///
/// Memory is bounded. Decoders read in step (the pipeline asks for the audio up to each frame's time) keep the queues
/// under a second of media; a queue may hold at most `maxQueuedSeconds` of its stream's timestamps and `maxQueuedBytes`.
/// Past that, an audio stream gives way — the video stream never does:
/// - the audio decoder is looking for its next packet but only finds video (the audio has ended, or lies far away in
///   the file): the audio ends there (its decoder sees the end of its stream);
/// - the video decoder reads on while the audio's queue fills (nobody reads the audio): the queued audio is dropped
///   and the audio ends there.
/// Audio packets met after that are dropped and counted (`lostPackets`), so a caller can tell an audio track that
/// really ended (none lost) from one that was cut (some lost) and say so.
///
/// Not thread-safe: the decoders sharing it are used from one thread at a time.
final class Demuxer {
    let input: FormatInput

    private struct Queue {
        var packets: [UnsafeMutablePointer<AVPacket>] = []
        var bytes = 0
        /// The stream ended here for its decoder (see the type's documentation).
        var cut = false
        /// Packets of the stream dropped since it was cut.
        var lost = 0
    }

    /// Per subscribed stream.
    private var queues: [Int32: Queue] = [:]
    /// The stream that never gives way (the video).
    private var primary: Int32?
    /// Set once the input is exhausted (end of file or a read error).
    private(set) var ended = false
    /// The read error that ended the input early, if any (end of file is not an error).
    private(set) var readError: Int32?
    private var packetsRead = 0

    /// Bounds of one queue: far more than any well-interleaved file needs (a second of 4K video is a few MB).
    var maxQueuedBytes = 64 << 20
    var maxQueuedSeconds = 60.0

    init(_ input: FormatInput) { self.input = input }

    convenience init(path: String) throws { self.init(try FormatInput(path: path)) }

    deinit {
        for stream in Array(queues.keys) { unsubscribe(stream) }
    }

    var path: String { input.path }

    /// From now on, packets of `stream` read for other decoders are kept for it. `primary`: the stream never gives way.
    func subscribe(_ stream: Int32, primary: Bool = false) {
        if queues[stream] == nil { queues[stream] = Queue() }
        if primary { self.primary = stream }
    }

    /// Packets of `stream` are dropped from now on (its decoder is gone); what was queued is freed.
    func unsubscribe(_ stream: Int32) {
        guard let queue = queues.removeValue(forKey: stream) else { return }
        free(queue.packets)
    }

    /// Packets held in all queues.
    var queuedPackets: Int { queues.values.reduce(0) { $0 + $1.packets.count } }

    /// Packets of `stream` dropped because its decoder had been cut off (0 when its stream really ended).
    func lostPackets(_ stream: Int32) -> Int { queues[stream]?.lost ?? 0 }

    private func free(_ packets: [UnsafeMutablePointer<AVPacket>]) {
        for p in packets {
            var optional: UnsafeMutablePointer<AVPacket>? = p
            av_packet_free(&optional)
        }
    }

    /// Seconds between the first and the last queued packet of `stream`.
    private func span(_ stream: Int32, _ q: Queue) -> Double {
        func time(_ p: UnsafeMutablePointer<AVPacket>) -> Int64? {
            let t = p.pointee.dts != CFF_AV_NOPTS_VALUE ? p.pointee.dts : p.pointee.pts
            return t == CFF_AV_NOPTS_VALUE ? nil : t
        }
        guard let first = q.packets.first.flatMap(time), let last = q.packets.last.flatMap(time) else { return 0 }
        return Double(last - first) * input.stream(stream).pointee.time_base.seconds
    }

    /// Moves the next packet of `stream` into `packet` (which must be empty; the caller unreferences it after use).
    /// Returns false at the end of the stream for this decoder: the end of the input (see `readError`), or a cut.
    func next(_ stream: Int32, into packet: UnsafeMutablePointer<AVPacket>) throws -> Bool {
        if var q = queues[stream], !q.packets.isEmpty {
            let held = q.packets.removeFirst()
            q.bytes -= Int(held.pointee.size)
            queues[stream] = q
            av_packet_move_ref(packet, held)
            free([held])
            return true
        }
        if queues[stream]?.cut == true { return false }
        while !ended {
            let r = av_read_frame(input.ctx, packet)
            if r < 0 {
                ended = true
                if r != CFF_AVERROR_EOF { readError = r }
                if packetsRead == 0 && r != CFF_AVERROR_EOF && !input.seekable && input.isMOV {
                    // The index came after the data: the demuxer would have to seek back to the samples.
                    throw MediaError(.notMedia, path, "an MP4/MOV file whose index (moov) comes after its data cannot be read from a pipe",
                                     fix: "give its path, or move the index first: ffmpeg -i IN -c copy -movflags +faststart OUT.mp4")
                }
                return false
            }
            packetsRead += 1
            let s = packet.pointee.stream_index
            if s == stream { return true }
            guard var q = queues[s] else {
                av_packet_unref(packet)
                continue
            }
            if q.cut {
                q.lost += 1
                queues[s] = q
                av_packet_unref(packet)
                continue
            }
            guard let held = av_packet_alloc() else { throw MediaError(.decodeFailed, path, "out of memory") }
            av_packet_move_ref(held, packet)
            q.packets.append(held)
            q.bytes += Int(held.pointee.size)
            queues[s] = q
            if q.bytes > maxQueuedBytes || span(s, q) > maxQueuedSeconds {
                if s == primary {
                    // Looking for this stream's next packet would hold too much video: this stream ends here.
                    queues[stream]?.cut = true
                    return false
                }
                // Nobody reads stream s while this one goes on: s ends here, and its queued packets count as lost.
                free(q.packets)
                queues[s] = Queue(packets: [], bytes: 0, cut: true, lost: q.packets.count)
            }
        }
        return false
    }
}

/// An input opened once for its video and its audio.
public enum MediaInput {
    /// Opens a video file, a FIFO, or `-` (standard input, FFmpeg's `pipe:0`) exactly once and returns its video
    /// decoder and its audio decoder (nil when there is no audio stream), both reading from the same demuxer. The audio
    /// is aligned so that sample 0 is at the video's start time (0 when the container declares none). Nothing is
    /// seeked, so a pipe works. Read them in step (audio up to the newest frame's time); releasing the audio decoder
    /// (when only frames are wanted) stops its packets being kept. See `AudioDecoder.lostPackets` for audio that had to
    /// be given up to keep memory bounded.
    /// `videoThreads`: FFmpeg's decoding threads for the video (1: decoding does not compete with the kernels).
    public static func open(_ path: String, videoThreads: Int = 1) throws -> (video: VideoDecoder, audio: AudioDecoder?) {
        let demuxer = try Demuxer(path: path)
        let video = try VideoDecoder(demuxer, threads: videoThreads)
        let audio = try demuxer.input.audioStream.map {
            try AudioDecoder(demuxer, stream: $0, sampleRate: AudioDecoder.defaultSampleRate, alignTo: video.info.startTime ?? 0)
        }
        return (video, audio)
    }
}
