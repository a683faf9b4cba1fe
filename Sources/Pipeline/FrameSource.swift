import Face
import Foundation
import Media

/// One frame as the pipeline needs it: its number, its time and the 112×112 face crop (nil when there is none).
public struct SourceFrame: Sendable {
    /// 1-based frame number.
    public let number: Int
    /// Seconds since the first frame.
    public let time: Double
    /// 112×112 packed RGB, or nil when the frame has no face.
    public let crop: [UInt8]?
    /// False for the frame the official protocol reads from mkvextract's end-time line: it is computed with the
    /// others (clips, sequences, smoothing) but has no row of its own.
    public let isVideoFrame: Bool

    public init(number: Int, time: Double, crop: [UInt8]?, isVideoFrame: Bool = true) {
        self.number = number; self.time = time; self.crop = crop; self.isVideoFrame = isVideoFrame
    }
}

/// Where frames come from: a video (faces detected, tracked and aligned) or an Aff-Wild2 crop folder; tests give
/// their own.
public protocol FrameSource: AnyObject {
    /// A one-line description for logs.
    var summary: String { get }
    /// Frames the source expects to deliver, when known (for progress).
    var expectedFrames: Int? { get }
    /// The next frame, in order; nil at the end.
    func next(timings: StageTimings) throws -> SourceFrame?
    /// Problems worth a warning once the source is exhausted (truncation, corrupt packets, unreadable images).
    var warnings: [String] { get }
    /// Set when the input ended early (truncated file): the frames before it are still usable.
    var truncationDetail: String? { get }
}

public let cropSize = 112

/// A video file: FFmpeg decoding, then face detection, tracking and alignment to 112×112 crops.
public final class VideoFaceSource: FrameSource {
    public let decoder: VideoDecoder
    public let tracker: FaceTracker
    /// The frame last returned by `next`, and its face result (for a caller that draws or reports them).
    public private(set) var lastFrame: VideoFrame?
    public private(set) var lastFaceResult: FaceResult?

    /// Threads of the face detector's calls.
    public let threads: Int

    public init(decoder: VideoDecoder, tracker: FaceTracker, threads: Int) {
        self.decoder = decoder
        self.tracker = tracker
        self.threads = threads
    }

    public var summary: String {
        let i = decoder.info
        return "\(i.path): \(i.width)×\(i.height) \(i.codec), \(String(format: "%.5g", i.frameRate)) fps"
            + (i.duration.map { String(format: ", %.1f s", $0) } ?? "") + (i.hasAudio ? ", with audio" : ", no audio")
    }

    public var expectedFrames: Int? { decoder.info.estimatedFrameCount }

    public func next(timings: StageTimings) throws -> SourceFrame? {
        let t0 = DispatchTime.now()
        guard let frame = try decoder.next() else { return nil }
        let t1 = DispatchTime.now()
        let face = tracker.process(frame, threads: threads)
        let t2 = DispatchTime.now()
        timings.add(.decode, t0, t1)
        timings.add(.face, t1, t2)
        lastFrame = frame
        lastFaceResult = face
        return SourceFrame(number: frame.index + 1, time: frame.time, crop: face.found ? face.crop.pixels : nil)
    }

    public var warnings: [String] {
        decoder.corruptPackets > 0 ? ["\(decoder.info.path): \(decoder.corruptPackets) corrupt packet(s) skipped"] : []
    }

    public var truncationDetail: String? { decoder.truncated ? decoder.truncationDetail ?? "ends early" : nil }
}

/// An Aff-Wild2 `cropped_aligned/<video>/` folder: the crops are given, no face detection.
/// A missing number is a frame without a face; so is an image that is not 112×112 or cannot be decoded
/// (as in the reference loaders, which leave such frames black), with a warning.
///
/// Frames are 1 … the highest number, at `frameRate`; or, given timestamp lines (official protocol), one per line —
/// the last line being mkvextract's end-time line, read as a frame without a video row — at those times.
public final class ImageSequenceSource: FrameSource {
    public let sequence: ImageSequence
    public let decoding: ProtocolRules.CropDecoding
    /// The input's timestamp lines (ms) when the frames follow them.
    public let timestamps: [Double]?
    private var n = 0
    private var problems: [String] = []

    public init(folder: String, frameRate: Double, decoding: ProtocolRules.CropDecoding = .ffmpeg, timestamps: [Double]? = nil) throws {
        sequence = try ImageSequence(folder: folder, frameRate: frameRate)
        self.decoding = decoding
        self.timestamps = timestamps
        if let t = timestamps, sequence.frameCount > t.count {
            problems.append("crops numbered past \(t.count) (the timestamps' last line) are not used, as in the official loader")
        }
    }

    /// Frames delivered: one per timestamp line, or 1 … the highest crop number.
    public var frameCount: Int { timestamps?.count ?? sequence.frameCount }

    public var summary: String {
        "\(sequence.folder): \(timestamps.map { "\($0.count - 1) frames (+ the end-time line)" } ?? "\(sequence.frameCount) frames") "
            + "(\(sequence.presentCount) crops)" + (timestamps == nil ? " at \(sequence.frameRate) fps" : ", timestamps given")
    }

    public var expectedFrames: Int? { frameCount }

    public func next(timings: StageTimings) throws -> SourceFrame? {
        guard n < frameCount else { return nil }
        n += 1
        let t0 = DispatchTime.now()
        var crop: [UInt8]?
        do {
            if let image = try image(n) {
                if image.width == cropSize && image.height == cropSize {
                    crop = image.pixels
                } else if problems.count < 20 {
                    problems.append("frame \(n): image is \(image.width)×\(image.height), not 112×112; treated as a frame without a face")
                }
            }
        } catch {
            if problems.count < 20 { problems.append("frame \(n): \(error); treated as a frame without a face") }
        }
        timings.add(.decode, t0, DispatchTime.now())
        if let t = timestamps {
            return SourceFrame(number: n, time: (t[n - 1] - t[0]) / 1000, crop: crop, isVideoFrame: n < t.count)
        }
        return SourceFrame(number: n, time: sequence.time(ofFrame: n), crop: crop)
    }

    private func image(_ n: Int) throws -> RGBImage? {
        switch decoding {
        case .ffmpeg: return try sequence.image(n)
        case .pil: return try sequence.path(n).map { try decodeJPEGAsPIL(path: $0) }
        }
    }

    public var warnings: [String] { problems.map { "\(sequence.folder): \($0)" } }
    public var truncationDetail: String? { nil }
}

/// A video's frames followed by one more, black, for mkvextract's end-time line (official protocol): its time is
/// that line's, relative to the first frame's line.
public final class EndTimeLineSource: FrameSource {
    public let base: FrameSource
    public let timestamps: [Double]
    private var n = 0
    private var done = false

    public init(_ base: FrameSource, timestamps: [Double]) {
        self.base = base
        self.timestamps = timestamps
    }

    public var summary: String { base.summary }
    public var expectedFrames: Int? { base.expectedFrames.map { $0 + 1 } }
    public var warnings: [String] { base.warnings }
    public var truncationDetail: String? { base.truncationDetail }

    public func next(timings: StageTimings) throws -> SourceFrame? {
        if !done, let f = try base.next(timings: timings) {
            n = f.number
            return f
        }
        guard !done, n > 0 else { return nil }
        done = true
        n += 1
        let end = timestamps.last ?? 0, first = timestamps.first ?? 0
        return SourceFrame(number: n, time: (end - first) / 1000, crop: nil, isVideoFrame: false)
    }
}
