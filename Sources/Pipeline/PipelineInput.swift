import Face
import Foundation
import Media

/// How to read an input.
public struct InputOptions: Sendable {
    /// Audio of a crop folder: an audio file (its sample 0 is frame 1; for the official protocol, the prepared
    /// `Audio_files/<video>.wav`), or the original video, whose audio and timestamps are then prepared as the official
    /// preprocessing does. A video input uses its own audio.
    public var audio: String?
    /// mkvextract timestamps of a crop folder (`<video>_video_ts.txt`), which the official protocol's frames and audio
    /// windows follow; without it, the original video given as `audio`, or else `frameRate`, gives them.
    public var timestamps: String?
    /// Frame rate of a crop folder (when no timestamps say otherwise).
    public var frameRate: Double = 30
    /// How faces are found and followed in a video (`face.subject`: whose face).
    public var face = FaceTrackerConfig()
    /// The protocol's conventions, for how the input is read: audio origin, frame count, crop decoding.
    public var rules: ProtocolRules = .official

    public init(audio: String? = nil, timestamps: String? = nil, frameRate: Double = 30, subject: SubjectSelection = .primary,
                rules: ProtocolRules = .official) {
        self.audio = audio
        self.timestamps = timestamps
        self.frameRate = frameRate
        self.face.subject = subject
        self.rules = rules
    }

    /// The frame rates a crop folder may be given.
    public static let frameRates: ClosedRange<Double> = ImageSequence.frameRates
}

/// One input, opened once: its frames (with their face crops) and its audio.
///
/// - a video file: FFmpeg decodes it; faces are detected, tracked and aligned with the process's `FaceModels`;
///   its own audio track, aligned to its first frame;
/// - an Aff-Wild2 `cropped_aligned/<video>/` folder of numbered 112×112 crops (an image sequence whose crops are
///   given): frames at `frameRate`, audio from `options.audio` when given.
public final class PipelineInput {
    public enum Kind: Sendable, Equatable { case video, cropFolder }

    public let path: String
    public let kind: Kind
    public let frames: FrameSource
    public let audio: StreamingAudio
    /// Problems found while opening (no audio, …); the run's own warnings come with its summary.
    public let warnings: [String]
    /// The files the input reads (an output must not replace one of them).
    public let files: [String]
    public let options: InputOptions
    /// The timestamp lines (ms) the official audio windows are cut at (with the end-time line when the protocol
    /// computes it as a frame); nil for the clean protocol.
    public let timestamps: [Double]?

    /// File name extensions of videos (for telling a folder of videos from a folder of crops).
    public static let videoExtensions: Set<String> = ["mp4", "avi", "mkv", "mov", "webm", "m4v", "mpg", "mpeg", "wmv", "flv", "ts"]

    /// A video's audio decoder (for what it had to give up, known at the end).
    private let audioDecoder: AudioDecoder?
    /// The temporary copy of a piped input (official protocol), removed with the input.
    private let spool: PipeSpool?

    private init(path: String, kind: Kind, frames: FrameSource, audio: StreamingAudio, warnings: [String],
                 files: [String], options: InputOptions, timestamps: [Double]? = nil, audioDecoder: AudioDecoder? = nil,
                 spool: PipeSpool? = nil) {
        self.path = path; self.kind = kind; self.frames = frames; self.audio = audio
        self.warnings = warnings; self.files = files; self.options = options; self.timestamps = timestamps
        self.audioDecoder = audioDecoder; self.spool = spool
    }

    /// Problems known only once the input has been read to its end: audio given up to keep memory bounded, because
    /// it lay too far from the video in the file (`AudioDecoder.lostPackets`).
    public var endWarnings: [String] {
        guard let lost = audioDecoder?.lostPackets, lost > 0 else { return [] }
        return ["\(path): \(lost) audio packet(s) lay too far from the video in the file and were left out, so the audio is "
                + "silent from there on (remux it so the streams are interleaved: ffmpeg -i IN -c copy OUT.mkv)"]
    }

    /// Opens `path`. `faces` is called only for a video (a crop folder needs no face models); `threads` is the face
    /// detector's thread count.
    public static func open(_ path: String, options: InputOptions = InputOptions(), threads: Int,
                            faces: () throws -> FaceModels) throws -> PipelineInput {
        var isDir: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isDir)
        if exists && isDir.boolValue { return try openCropFolder(path, options: options) }
        guard exists || path == "-" else { throw MediaError(.notFound, path, "no such file") }
        guard options.audio == nil else {
            throw PipelineError(options.audio, "--audio is for crop folders", remedy: "a video's own audio is used; drop --audio")
        }
        if options.timestamps != nil {
            throw PipelineError(options.timestamps, "--timestamps is for crop folders", remedy: "a video's own timestamps are used; drop --timestamps")
        }
        switch options.rules.audioOrigin {
        case .firstVideoFrame:
            // One open for the frames and the audio (`-`, standard input, or a FIFO can be read only once), before the
            // face models load (a file that is not a video says so even without them).
            let media = try MediaInput.open(path)
            let video = VideoFaceSource(decoder: media.video, tracker: try faces().tracker(options.face), threads: threads)
            return PipelineInput(path: path, kind: .video, frames: video, audio: StreamingAudio(reader: media.audio),
                                 warnings: media.audio == nil ? [noAudio(path)] : [], files: path == "-" ? [] : [path],
                                 options: options, audioDecoder: media.audio)
        case .mkvmergeRemux:
            // The official preparation reads the container's timestamps before any frame (as mkvmerge does), then the
            // frames, then the audio: three reads. A pipe is read once into a temporary file first. The face models
            // load after the input is known to be a video.
            let spool = try PipeSpool.ifNeeded(path)
            let file = spool?.path ?? path
            let remux = try MatroskaTimestamps.ofRemux(path: file)
            let reader = try OfficialAudioReader.open(video: file, timestamps: remux)
            let decoder = try VideoDecoder(path: file)
            let video = VideoFaceSource(decoder: decoder, tracker: try faces().tracker(options.face), threads: threads)
            let lines = timestampLines(remux.milliseconds, options.rules)
            let frames: FrameSource = options.rules.frameCount == .withEndTimeLine ? EndTimeLineSource(video, timestamps: lines) : video
            return PipelineInput(path: path, kind: .video, frames: frames, audio: StreamingAudio(reader: reader),
                                 warnings: reader == nil ? [noAudio(path)] : [], files: path == "-" ? [] : [path], options: options,
                                 timestamps: lines, spool: spool)
        }
    }

    /// The lines the frames follow: all of them (the end-time line read as a frame), or the frames' only.
    private static func timestampLines(_ ms: [Double], _ rules: ProtocolRules) -> [Double] {
        rules.frameCount == .withEndTimeLine ? ms : Array(ms.dropLast())
    }

    private static func openCropFolder(_ path: String, options: InputOptions) throws -> PipelineInput {
        guard InputOptions.frameRates.contains(options.frameRate) else {
            throw PipelineError(path, "a frame rate of \(options.frameRate) fps cannot be used",
                                remedy: "give --fps between \(InputOptions.frameRates.lowerBound) and \(InputOptions.frameRates.upperBound)")
        }
        let sequence: ImageSequence
        do {
            sequence = try ImageSequence(folder: path, frameRate: options.frameRate)
        } catch let e as MediaError where e.kind == .badSequence {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
            if names.contains(where: { videoExtensions.contains(($0 as NSString).pathExtension.lowercased()) }) {
                throw PipelineError(path, "is a folder of videos, not of numbered crops", remedy: "use `emopipe batch \(path) OUTDIR`")
            }
            throw e
        }
        let files = [path] + (options.audio.map { [$0] } ?? []) + (options.timestamps.map { [$0] } ?? [])
        let rules = options.rules
        guard rules.audioOrigin == .mkvmergeRemux else {
            if options.timestamps != nil {
                throw PipelineError(options.timestamps, "--timestamps is for the official protocol", remedy: "drop it, or use --protocol official")
            }
            let source = try ImageSequenceSource(folder: path, frameRate: options.frameRate, decoding: rules.cropDecoding)
            let decoder = try options.audio.flatMap { try AudioDecoder.open(path: $0, alignTo: 0) }
            return PipelineInput(path: path, kind: .cropFolder, frames: source, audio: StreamingAudio(reader: decoder),
                                 warnings: decoder == nil ? [noAudio(options.audio ?? path)] : [], files: files, options: options)
        }
        // The official protocol: timestamps from the file, or from the original video, or made at --fps; audio either
        // already prepared (a wav) or prepared here from the original video.
        let audioIsVideo = try options.audio.map { try MediaProbe.hasVideo(path: $0) } ?? false
        var warnings: [String] = []
        let stamps: MatroskaTimestamps
        if let t = options.timestamps {
            stamps = try MatroskaTimestamps(timestampsFile: t)
        } else if audioIsVideo, let v = options.audio {
            stamps = try MatroskaTimestamps.ofRemux(path: v)
        } else {
            stamps = MatroskaTimestamps.constantRate(frames: sequence.frameCount, frameRate: options.frameRate)
            warnings.append("\(path): no timestamps (--timestamps <video>_video_ts.txt, or the video as --audio); frames at \(options.frameRate) fps from 0 ms")
        }
        let reader: AudioSampleReader?
        if let a = options.audio {
            reader = audioIsVideo ? try OfficialAudioReader.open(video: a, timestamps: stamps)
                                  : try AudioDecoder.open(path: a, alignTo: AudioDecoder.ownStart, pcm16: true)
        } else {
            reader = nil
        }
        if reader == nil { warnings.append(noAudio(options.audio ?? path)) }
        let lines = timestampLines(stamps.milliseconds, rules)
        let source = try ImageSequenceSource(folder: path, frameRate: options.frameRate, decoding: rules.cropDecoding, timestamps: lines)
        return PipelineInput(path: path, kind: .cropFolder, frames: source, audio: StreamingAudio(reader: reader),
                             warnings: warnings, files: files, options: options, timestamps: lines)
    }

    private static func noAudio(_ path: String) -> String {
        "\(path): no audio; the audio input is silent (missing modality)"
    }

    /// The frames of a video input, faces detected.
    public var videoSource: VideoFaceSource? { (frames as? VideoFaceSource) ?? ((frames as? EndTimeLineSource)?.base as? VideoFaceSource) }

    /// The face tracker of a video input.
    public var tracker: FaceTracker? { videoSource?.tracker }

    /// Checks, after a run, that the subject asked for by track number was in the input.
    public func checkSubjectFound() throws {
        guard case .track(let id) = options.face.subject, let tracker else { return }
        let tracks = tracker.seenTracks
        guard !tracks.contains(where: { $0.id == id }) else { return }
        let seen = tracks.map { "#\($0.id) (frames \($0.first + 1)–\($0.last + 1))" }
        throw PipelineError(path, tracks.isEmpty ? "no face in any frame, so no track \(id)"
                                                 : "there is no face track \(id); the tracks are \(seen.joined(separator: ", "))",
                            remedy: tracks.isEmpty ? "check the video" : "choose one of them with --subject, or --subject primary")
    }
}
