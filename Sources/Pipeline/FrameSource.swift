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

    public init(number: Int, time: Double, crop: [UInt8]?) {
        self.number = number; self.time = time; self.crop = crop
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

    public init(path: String, tracker: FaceTracker, threads: Int) throws {
        decoder = try VideoDecoder(path: path)
        self.tracker = tracker
        self.threads = threads
    }

    public var summary: String {
        let i = decoder.info
        return "\(i.path): \(i.width)×\(i.height) \(i.codec), \(String(format: "%.5g", i.frameRate)) fps"
            + (i.duration.map { String(format: ", %.1f s", $0) } ?? "") + (i.hasAudio ? ", with audio" : ", no audio")
    }

    public var expectedFrames: Int? {
        decoder.info.declaredFrameCount ?? decoder.info.duration.map { Int(($0 * decoder.info.frameRate).rounded()) }
    }

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
public final class ImageSequenceSource: FrameSource {
    public let sequence: ImageSequence
    private var n = 0
    private var problems: [String] = []

    public init(folder: String, frameRate: Double) throws {
        sequence = try ImageSequence(folder: folder, frameRate: frameRate)
    }

    public var summary: String {
        "\(sequence.folder): \(sequence.frameCount) frames (\(sequence.presentCount) crops) at \(sequence.frameRate) fps"
    }

    public var expectedFrames: Int? { sequence.frameCount }

    public func next(timings: StageTimings) throws -> SourceFrame? {
        guard n < sequence.frameCount else { return nil }
        n += 1
        let t0 = DispatchTime.now()
        var crop: [UInt8]?
        do {
            if let image = try sequence.image(n) {
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
        return SourceFrame(number: n, time: sequence.time(ofFrame: n), crop: crop)
    }

    public var warnings: [String] { problems.map { "\(sequence.folder): \($0)" } }
    public var truncationDetail: String? { nil }
}
