import CFFmpeg
import Foundation

/// One decoded video frame as 8-bit RGB.
public struct VideoFrame: Sendable {
    /// 0-based position in decode (presentation) order.
    public let index: Int
    /// Seconds since the first frame (the first frame is at 0).
    public let time: Double
    /// Presentation timestamp in seconds, in the stream's own time.
    public let pts: Double
    public let image: RGBImage
}

/// What a video file holds, before decoding.
public struct VideoInfo: Sendable {
    public let path: String
    public let codec: String
    /// Size of the delivered frames (after rotation).
    public let width: Int, height: Int
    /// Degrees clockwise applied to decoded frames (from the display matrix).
    public let rotation: Int
    /// Average frame rate declared by the container (0 when unknown). Frames keep their own timestamps (VFR kept).
    public let frameRate: Double
    public let duration: Double?
    public let declaredFrameCount: Int?
    public let hasAudio: Bool
    /// Presentation time of the stream's first frame in seconds, as the container declares it.
    public let startTime: Double?

    /// The frame count the container declares, else duration × frame rate when both are sane (a container may
    /// declare anything); nil when neither is known. Nothing is decoded.
    public var estimatedFrameCount: Int? {
        if let n = declaredFrameCount { return n }
        guard let estimate = duration.map({ ($0 * frameRate).rounded() }), estimate.isFinite, estimate >= 0, estimate < 1e12
        else { return nil }
        return Int(estimate)
    }
}

/// Streaming video decoder: one `VideoFrame` per decoded frame, never the whole video in memory.
///
/// Corrupt packets are skipped and counted; a file that ends early is decoded as far as it goes and `truncated`
/// says so once `next()` has returned nil. Not thread-safe: one owner at a time. `MediaInput.open` gives one that
/// shares its input with the audio decoder; `init(path:)` opens the file for the video alone.
public final class VideoDecoder {
    /// Frame times (seconds from the first frame) are refused beyond this, about 31.7 years: no real video is that
    /// long, and later stages turn times into sample indices (× 44100) that must stay exact integers.
    public static let maxTimestamp = 1e9
    static let damagedTimestampsFix = "its timestamps are damaged; re-encode it with regular ones, e.g. ffmpeg -i IN -vf setpts=N/25/TB OUT.mp4 for 25 fps"

    public let info: VideoInfo
    public private(set) var framesDecoded = 0
    public private(set) var corruptPackets = 0
    /// Set when decoding ended: the file stopped before the frames its container declares.
    public private(set) var truncated = false
    /// Why the file is considered truncated, when it is.
    public private(set) var truncationDetail: String?

    private let demuxer: Demuxer
    private var codec: UnsafeMutablePointer<AVCodecContext>?
    private let streamIndex: Int32
    private var packet: UnsafeMutablePointer<AVPacket>?
    private var frame: UnsafeMutablePointer<AVFrame>?
    private var sws: OpaquePointer?
    private let timeBase: Double
    private var draining = false
    private var finished = false
    private var firstPts: Double?
    private var lastPts: Double?

    /// Opens `path` (`-`: standard input) for its video alone; `threads`: FFmpeg's decoding threads.
    public convenience init(path: String, threads: Int = 1) throws {
        try self.init(Demuxer(path: path), threads: threads)
    }

    init(_ demuxer: Demuxer, threads: Int) throws {
        self.demuxer = demuxer
        let input = demuxer.input
        let path = input.path
        guard let vi = input.bestStream(AVMEDIA_TYPE_VIDEO) else {
            throw MediaError(.noVideoStream, path, "has no video stream", fix: "give a video file")
        }
        streamIndex = vi
        let st = input.stream(vi)
        timeBase = st.pointee.time_base.seconds
        codec = try input.openDecoder(vi, threads: Int32(clamping: max(1, threads)))
        demuxer.subscribe(vi, primary: true)
        packet = av_packet_alloc()
        frame = av_frame_alloc()

        var rotation = 0
        if let side = av_stream_get_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, nil) {
            let theta = -av_display_rotation_get(UnsafeRawPointer(side).assumingMemoryBound(to: Int32.self))
            if theta.isFinite {
                let r = Int((theta - 360 * (theta / 360).rounded(.down)).rounded())
                rotation = [90, 180, 270].first { abs($0 - r) <= 2 } ?? 0
            }
        }
        let par = st.pointee.codecpar.pointee
        let (w, h) = rotation == 90 || rotation == 270 ? (Int(par.height), Int(par.width)) : (Int(par.width), Int(par.height))
        var rate = st.pointee.avg_frame_rate.seconds
        if rate <= 0 || !rate.isFinite { rate = st.pointee.r_frame_rate.seconds }
        let streamDuration = st.pointee.duration != CFF_AV_NOPTS_VALUE && st.pointee.duration > 0
            ? Double(st.pointee.duration) * timeBase : nil
        let start = st.pointee.start_time != CFF_AV_NOPTS_VALUE ? Double(st.pointee.start_time) * timeBase : nil
        info = VideoInfo(path: path, codec: String(cString: avcodec_get_name(par.codec_id)), width: w, height: h,
                         rotation: rotation, frameRate: rate.isFinite && rate > 0 ? rate : 0,
                         duration: streamDuration ?? input.duration,
                         declaredFrameCount: st.pointee.nb_frames > 0 ? Int(st.pointee.nb_frames) : nil,
                         hasAudio: input.bestStream(AVMEDIA_TYPE_AUDIO) != nil, startTime: start)
    }

    deinit {
        demuxer.unsubscribe(streamIndex)
        av_frame_free(&frame)
        av_packet_free(&packet)
        avcodec_free_context(&codec)
        sws_freeContext(sws)
    }

    /// The next frame, or nil at the end of the stream.
    public func next() throws -> VideoFrame? {
        guard !finished, let codec, let frame, let packet else { return nil }
        var consecutiveErrors = 0
        while true {
            let r = avcodec_receive_frame(codec, frame)
            if r == 0 {
                defer { av_frame_unref(frame) }
                return try makeFrame(frame)
            }
            if r == CFF_AVERROR_EOF {
                finish()
                return nil
            }
            if r != CFF_AVERROR_EAGAIN {
                // A decode error surfaced at receive time: that packet's frame is lost.
                corruptPackets += 1
                consecutiveErrors += 1
                if consecutiveErrors > 10_000 {
                    finish()
                    throw MediaError(.decodeFailed, info.path, "the video stream cannot be decoded: \(ffmpegErrorString(r))", fix: "re-encode it, e.g. ffmpeg -i IN -c:v libx264 -c:a aac OUT.mp4")
                }
                continue
            }
            if draining {
                finish()
                return nil
            }
            guard try demuxer.next(streamIndex, into: packet) else {
                draining = true
                avcodec_send_packet(codec, nil)
                continue
            }
            defer { av_packet_unref(packet) }
            if packet.pointee.flags & AV_PKT_FLAG_CORRUPT != 0 {
                corruptPackets += 1
                continue
            }
            let s = avcodec_send_packet(codec, packet)
            if s < 0 && s != CFF_AVERROR_EAGAIN && s != CFF_AVERROR_EOF {
                corruptPackets += 1
                consecutiveErrors += 1
            }
        }
    }

    private func finish() {
        guard !finished else { return }
        finished = true
        if let e = demuxer.readError {
            truncated = true
            truncationDetail = "reading stopped early (\(ffmpegErrorString(e)))"
            return
        }
        let frameTime = info.frameRate > 0 ? 1 / info.frameRate : 0
        if let declared = info.declaredFrameCount, framesDecoded + corruptPackets < declared {
            truncated = true
            truncationDetail = "ends after \(framesDecoded) of \(declared) declared frames"
        } else if let d = info.duration, let first = firstPts, let last = lastPts {
            let covered = last - min(first, info.startTime ?? first) + frameTime
            if covered < d - max(0.5, 3 * frameTime) {
                truncated = true
                truncationDetail = String(format: "ends at %.2f s of a declared %.2f s", covered, d)
            }
        } else if framesDecoded == 0, let d = info.duration, d > 0.5 {
            truncated = true
            truncationDetail = String(format: "no frame could be decoded of a declared %.2f s", d)
        }
    }

    private func makeFrame(_ f: UnsafeMutablePointer<AVFrame>) throws -> VideoFrame {
        var ts = f.pointee.best_effort_timestamp
        if ts == CFF_AV_NOPTS_VALUE { ts = f.pointee.pts }
        let pts: Double
        if ts != CFF_AV_NOPTS_VALUE {
            pts = Double(ts) * timeBase
        } else {
            pts = (lastPts ?? 0) + (info.frameRate > 0 ? 1 / info.frameRate : 0)
        }
        if firstPts == nil { firstPts = pts }
        guard pts.isFinite, abs(pts - firstPts!) <= Self.maxTimestamp else {
            throw MediaError(.decodeFailed, info.path, "frame \(framesDecoded + 1) is stamped \(pts - firstPts!) s after the first, beyond any real video",
                             fix: Self.damagedTimestampsFix)
        }
        lastPts = pts
        var image = convertToRGB(f)
        if info.rotation != 0 { image = image.rotatedClockwise(info.rotation) }
        let vf = VideoFrame(index: framesDecoded, time: pts - firstPts!, pts: pts, image: image)
        framesDecoded += 1
        return vf
    }

    private func convertToRGB(_ f: UnsafeMutablePointer<AVFrame>) -> RGBImage {
        let w = Int(f.pointee.width), h = Int(f.pointee.height)
        let fmt = AVPixelFormat(rawValue: f.pointee.format)
        sws = sws_getCachedContext(sws, Int32(w), Int32(h), fmt, Int32(w), Int32(h), AV_PIX_FMT_RGB24,
                                   Int32(SWS_BICUBIC), nil, nil, nil)
        guard let sws else { return RGBImage(black: w, h) }
        // Colour matrix and range as the stream declares them (unspecified → BT.601, limited range).
        let full: Int32 = f.pointee.color_range == AVCOL_RANGE_JPEG ? 1 : 0
        let coefficients = sws_getCoefficients(Int32(f.pointee.colorspace.rawValue))
        _ = sws_setColorspaceDetails(sws, coefficients, full, sws_getCoefficients(SWS_CS_DEFAULT), 1, 0, 1 << 16, 1 << 16)
        let count = w * h * 3
        var pixels = [UInt8](repeating: 0, count: count + 64)   // slack: SIMD paths may write past the last row
        pixels.withUnsafeMutableBufferPointer { buf in
            var dst: [UnsafeMutablePointer<UInt8>?] = [buf.baseAddress, nil, nil, nil]
            var stride: [Int32] = [Int32(w * 3), 0, 0, 0]
            _ = sws_scale(sws, cff_frame_planes_const(f), cff_frame_linesizes(f), 0, Int32(h), &dst, &stride)
        }
        pixels.removeLast(64)
        return RGBImage(width: w, height: h, pixels: pixels)
    }
}
