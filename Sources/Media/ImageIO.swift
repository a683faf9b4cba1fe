import CFFmpeg
import Kernels
import Foundation

/// Decodes a still image (JPEG, PNG, BMP, … whatever FFmpeg's image decoders read) to RGB.
public func decodeImage(path: String) throws -> RGBImage {
    let d = try VideoDecoder(path: path)
    guard let f = try d.next() else { throw MediaError(.decodeFailed, path, "no image could be decoded") }
    return f.image
}

/// Writes a PNG (lossless), atomically.
public func writePNG(_ image: RGBImage, to path: String) throws {
    try write(try encodeImage(image, codec: AV_CODEC_ID_PNG, pixelFormat: AV_PIX_FMT_RGB24, quality: nil, path: path), to: path)
}

/// Writes a baseline JPEG (4:2:0, full range like camera JPEGs), atomically. `quality` is FFmpeg's qscale, 2 (best) … 31.
public func writeJPEG(_ image: RGBImage, to path: String, quality: Int = 2) throws {
    try write(try encodeImage(image, codec: AV_CODEC_ID_MJPEG, pixelFormat: AV_PIX_FMT_YUVJ420P,
                              quality: max(2, min(31, quality)), path: path), to: path)
}

/// `writeAtomically`, its failure as a `MediaError`.
private func write(_ bytes: [UInt8], to path: String) throws {
    do { try writeAtomically(bytes, to: path) } catch let e as WriteError {
        throw MediaError(.writeFailed, path, "cannot write: \(e.reason)", fix: e.fix)
    }
}

private func encodeImage(_ image: RGBImage, codec id: AVCodecID, pixelFormat: AVPixelFormat, quality: Int?, path: String) throws -> [UInt8] {
    FFmpegLogging.quiet()
    guard image.width > 0, image.height > 0 else { throw MediaError(.writeFailed, path, "cannot write an empty image") }
    guard let codec = avcodec_find_encoder(id) else { throw MediaError(.writeFailed, path, "this FFmpeg has no \(String(cString: avcodec_get_name(id))) encoder") }
    var ctx = avcodec_alloc_context3(codec)
    defer { avcodec_free_context(&ctx) }
    guard let c = ctx else { throw MediaError(.writeFailed, path, "out of memory") }
    c.pointee.width = Int32(image.width)
    c.pointee.height = Int32(image.height)
    c.pointee.pix_fmt = pixelFormat
    c.pointee.time_base = AVRational(num: 1, den: 25)
    if let q = quality {
        c.pointee.flags |= AV_CODEC_FLAG_QSCALE
        c.pointee.global_quality = Int32(q) * FF_QP2LAMBDA
        c.pointee.color_range = AVCOL_RANGE_JPEG
    }
    var r = avcodec_open2(c, codec, nil)
    guard r >= 0 else { throw MediaError(.writeFailed, path, "cannot open the image encoder (\(ffmpegErrorString(r)))") }

    var frame = av_frame_alloc()
    defer { av_frame_free(&frame) }
    guard let f = frame else { throw MediaError(.writeFailed, path, "out of memory") }
    f.pointee.width = c.pointee.width
    f.pointee.height = c.pointee.height
    f.pointee.format = pixelFormat.rawValue
    if quality != nil { f.pointee.quality = c.pointee.global_quality }
    r = av_frame_get_buffer(f, 0)
    guard r >= 0 else { throw MediaError(.writeFailed, path, "out of memory") }

    let sws = sws_getContext(Int32(image.width), Int32(image.height), AV_PIX_FMT_RGB24, Int32(image.width), Int32(image.height),
                             pixelFormat, Int32(SWS_BICUBIC | SWS_ACCURATE_RND), nil, nil, nil)
    defer { sws_freeContext(sws) }
    image.pixels.withUnsafeBufferPointer { src in
        var srcPlanes: [UnsafePointer<UInt8>?] = [src.baseAddress, nil, nil, nil]
        var srcStride: [Int32] = [Int32(image.width * 3), 0, 0, 0]
        _ = sws_scale(sws, &srcPlanes, &srcStride, 0, Int32(image.height), cff_frame_planes(f), cff_frame_linesizes(f))
    }
    var pkt = av_packet_alloc()
    defer { av_packet_free(&pkt) }
    r = avcodec_send_frame(c, f)
    if r >= 0 { r = avcodec_send_frame(c, nil) }
    guard r >= 0, let p = pkt else { throw MediaError(.writeFailed, path, "cannot encode the image (\(ffmpegErrorString(r)))") }
    var bytes: [UInt8] = []
    while avcodec_receive_packet(c, p) == 0 {
        bytes += UnsafeBufferPointer(start: p.pointee.data, count: Int(p.pointee.size))
        av_packet_unref(p)
    }
    guard !bytes.isEmpty else { throw MediaError(.writeFailed, path, "the encoder produced no data") }
    return bytes
}
