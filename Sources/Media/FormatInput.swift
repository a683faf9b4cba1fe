import CFFmpeg
import Foundation

/// An opened container (AVFormatContext) with its streams probed. Read through one `Demuxer`; not thread-safe.
final class FormatInput {
    /// The path as given; `-` is standard input.
    let path: String
    private(set) var context: UnsafeMutablePointer<AVFormatContext>?

    /// The path that names standard input.
    static let standardInput = "-"

    init(path: String) throws {
        FFmpegLogging.quiet()
        self.path = path
        if path != Self.standardInput {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
                throw MediaError(.notFound, path, "no such file", fix: "check the path")
            }
            guard !isDir.boolValue else { throw MediaError(.notMedia, path, "is a folder, not a media file", fix: "give a video file") }
            guard FileManager.default.isReadableFile(atPath: path) else {
                throw MediaError(.notFound, path, "cannot be read: permission denied", fix: "check its permissions")
            }
        }
        // Standard input through FFmpeg's pipe protocol; a named path through the file protocol explicitly, so that a
        // file called e.g. `pipe:0` or `http:x` is read as the file it is.
        let url = path == Self.standardInput ? "pipe:0" : "file:" + path
        var ctx: UnsafeMutablePointer<AVFormatContext>?
        let r = avformat_open_input(&ctx, url, nil, nil)
        guard r >= 0, let ctx else {
            throw MediaError(.notMedia, path, "not a media file FFmpeg can read: \(ffmpegErrorString(r))", fix: "give a video file (mp4, mkv, avi, …)")
        }
        context = ctx
        let s = avformat_find_stream_info(ctx, nil)
        if s < 0 {
            avformat_close_input(&context)
            throw MediaError(.notMedia, path, "not a media file FFmpeg can read: \(ffmpegErrorString(s))", fix: "give a video file (mp4, mkv, avi, …)")
        }
    }

    deinit { avformat_close_input(&context) }

    var ctx: UnsafeMutablePointer<AVFormatContext> { context! }

    func stream(_ i: Int32) -> UnsafeMutablePointer<AVStream> { ctx.pointee.streams[Int(i)]! }

    /// The best stream of a kind, skipping attached pictures (cover art); nil when there is none.
    func bestStream(_ type: AVMediaType) -> Int32? {
        let i = av_find_best_stream(ctx, type, -1, -1, nil, 0)
        guard i >= 0 else { return nil }
        if type == AVMEDIA_TYPE_VIDEO, stream(i).pointee.disposition & AV_DISPOSITION_ATTACHED_PIC != 0 {
            for j in 0..<Int32(ctx.pointee.nb_streams) where j != i {
                let st = stream(j)
                if st.pointee.codecpar.pointee.codec_type == AVMEDIA_TYPE_VIDEO,
                   st.pointee.disposition & AV_DISPOSITION_ATTACHED_PIC == 0 { return j }
            }
            return nil
        }
        return i
    }

    /// A decoder context for stream i, opened. Throws unsupportedCodec when FFmpeg has no decoder for it.
    func openDecoder(_ i: Int32, threads: Int32 = 1) throws -> UnsafeMutablePointer<AVCodecContext> {
        let par = stream(i).pointee.codecpar!
        let id = par.pointee.codec_id
        guard let codec = avcodec_find_decoder(id) else {
            let name = id == AV_CODEC_ID_NONE ? "an unknown codec" : "codec '\(String(cString: avcodec_get_name(id)))'"
            throw MediaError(.unsupportedCodec, path, "unsupported \(name): this FFmpeg build has no decoder for it", fix: "re-encode it, e.g. ffmpeg -i IN -c:v libx264 -c:a aac OUT.mp4")
        }
        guard let c = avcodec_alloc_context3(codec) else { throw MediaError(.decodeFailed, path, "out of memory") }
        var r = avcodec_parameters_to_context(c, par)
        if r >= 0 {
            c.pointee.thread_count = threads
            c.pointee.pkt_timebase = stream(i).pointee.time_base
            r = avcodec_open2(c, codec, nil)
        }
        if r < 0 {
            var opt: UnsafeMutablePointer<AVCodecContext>? = c
            avcodec_free_context(&opt)
            let name = String(cString: avcodec_get_name(id))
            throw MediaError(.unsupportedCodec, path, "cannot open the '\(name)' decoder: \(ffmpegErrorString(r))", fix: "re-encode it, e.g. ffmpeg -i IN -c:v libx264 -c:a aac OUT.mp4")
        }
        return c
    }

    /// The best audio stream, nil when there is none.
    var audioStream: Int32? { bestStream(AVMEDIA_TYPE_AUDIO) }

    /// False for pipes and FIFOs: nothing may seek back.
    var seekable: Bool { (ctx.pointee.pb?.pointee.seekable ?? 0) != 0 }

    /// An ISO base media file (MP4, MOV, M4A, 3GP).
    var isMOV: Bool { ctx.pointee.iformat.map { String(cString: $0.pointee.name).hasPrefix("mov,") } ?? false }

    /// Container-level duration in seconds, when known.
    var duration: Double? {
        let d = ctx.pointee.duration
        return d > 0 && d != CFF_AV_NOPTS_VALUE ? Double(d) / Double(AV_TIME_BASE) : nil
    }
}

extension AVRational {
    var seconds: Double { den == 0 ? 0 : Double(num) / Double(den) }
}
