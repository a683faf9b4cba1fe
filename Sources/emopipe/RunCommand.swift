import ArgumentParser
import Face
import Foundation
import Kernels
import Media
import Models
import Pipeline

/// `emopipe VIDEO`: per-frame valence and arousal (the default subcommand).
struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Per-frame valence and arousal of a video or an Aff-Wild2 cropped_aligned folder (default command).",
        discussion: """
        Rows go to stdout (or -o FILE, written atomically); logs and progress go to stderr.
        Model: --backbones TSAV.safetensors --head NAME --head-weights HEAD.safetensors, or --model DIR,
        or the folder named by $EMOPIPE_MODEL (see `emopipe models` and docs/weights.md).
        Exit status: 0 on success, 1 on an error (no rows are made up), 3 when the video is truncated
        (rows cover the frames before the truncation).
        """
    )

    @Argument(help: "A video file, or an Aff-Wild2 cropped_aligned/<video>/ folder of 00001.jpg … crops.")
    var input: String

    @OptionGroup var model: ModelOptions

    @Option(help: "Audio file for a cropped_aligned folder (its sample 0 is frame 1).")
    var audio: String?
    @Option(help: "Frame rate of a cropped_aligned folder.")
    var fps: Double = 30
    @Option(help: "Whose face to follow: primary (largest, most persistent), left, right, or a track number.")
    var subject: String = "primary"

    @Option(help: "Output format: csv (frame,time,face,valence,arousal), jsonl, or abaw (valence,arousal).")
    var format: String = "csv"
    @Flag(help: "Skip the moving-average smoothing (values are still clipped to [-1, 1]).")
    var raw = false
    @Option(name: [.short, .customLong("output")], help: "Write rows to this file (atomically) instead of stdout.")
    var output: String?
    @Option(help: "Also draw valence and arousal over time into this SVG file (face-less spans shaded).")
    var plot: String?
    @Option(help: "Threads for the numeric kernels (default: all cores).")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount
    @Flag(name: .shortAndLong, help: "No progress or summary on stderr (warnings and errors still).")
    var quiet = false

    func validate() throws {
        guard OutputFormat(rawValue: format) != nil else {
            throw ValidationError("--format must be csv, jsonl or abaw (got '\(format)')")
        }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
        guard fps > 0 && fps.isFinite else { throw ValidationError("--fps must be positive") }
        guard SubjectSelection(argument: subject) != nil else {
            throw ValidationError("--subject must be primary, left, right or a track number (got '\(subject)')")
        }
    }

    func run() throws {
        let format = OutputFormat(rawValue: format)!
        do {
            let (source, audioWindow) = try openInput(input, audio: audio, fps: fps, subject: subject, threads: threads)
            let (found, emotion) = try model.load()
            if !quiet { printError("emopipe: \(source.summary); head \(found.head.name)") }

            var options = PipelineOptions(threads: threads)
            options.smoothing = !raw
            let pipeline = EmotionPipeline(model: emotion, options: options)
            let sink = try RowSink(path: output, format: format, keepRows: plot != nil)
            let bar = quiet ? nil : ProgressLine(label: "frames", total: source.expectedFrames)
            let summary: PipelineSummary
            do {
                summary = try pipeline.run(source: source, audio: audioWindow, progress: { bar?.update($0) }) { try sink.write($0) }
            } catch {
                sink.abandon()
                throw error
            }
            bar?.finish()
            guard summary.frames > 0 else {
                sink.abandon()
                throw RunFailure("\(input): no frame could be decoded")
            }
            try sink.finish()
            if let plot {
                let svg = SVGPlot.render(sink.rows, title: "\(URL(fileURLWithPath: input).lastPathComponent) — \(found.head.name)")
                try writeAtomically(Data(svg.utf8), to: plot)
            }
            for w in summary.warnings { printError("warning: \(w)") }
            if summary.framesWithFace == 0 { printError("warning: \(input): no face in any frame; every clip is black") }
            if !quiet {
                printError(String(format: "emopipe: %d frames (%d with a face) in %.1f s, %.2f frames/s", summary.frames,
                                  summary.framesWithFace, summary.seconds, Double(summary.frames) / max(summary.seconds, 1e-9)))
                printError("emopipe: time per stage: \(pipeline.timings.summary)")
            }
            if let t = summary.truncationDetail {
                printError("error: \(input): truncated: \(t); the rows cover the \(summary.frames) frames before it")
                throw ExitCode(3)
            }
        } catch let e as ExitCode {
            throw e
        } catch let e as ValidationError {
            throw e
        } catch {
            printError("error: \(error)")
            throw ExitCode.failure
        }
    }
}

/// The frame source and audio of one input: a video (faces detected and aligned, its own audio) or an Aff-Wild2
/// crop folder (audio from `audio` when given). Warns on stderr when the audio is missing.
func openInput(_ input: String, audio: String?, fps: Double, subject: String, threads: Int) throws -> (FrameSource, StreamingAudioWindow) {
    var isDir: ObjCBool = false
    let exists = FileManager.default.fileExists(atPath: input, isDirectory: &isDir)
    let source: FrameSource
    let audioWindow: StreamingAudioWindow
    if exists && isDir.boolValue {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: input)) ?? []
        let videos = names.filter { Batch.videoExtensions.contains(($0 as NSString).pathExtension.lowercased()) }
        do {
            source = try ImageSequenceSource(folder: input, frameRate: fps)
        } catch let e as MediaError where e.kind == .badSequence && !videos.isEmpty {
            throw RunFailure("\(input) is a folder of videos, not of numbered crops: use `emopipe batch \(input) OUTDIR`")
        }
        audioWindow = StreamingAudioWindow(decoder: try audio.flatMap { try AudioDecoder.open(path: $0, alignTo: 0) })
    } else {
        if audio != nil { throw RunFailure("--audio is for cropped_aligned folders; a video's own audio is used") }
        let tracker: FaceTracker
        do {
            var config = FaceTrackerConfig()
            config.subject = SubjectSelection(argument: subject) ?? .primary
            tracker = try FaceTracker(config: config)
        } catch {
            throw RunFailure("the face models cannot be loaded (\(error)); run `make` to install opencv-data and libdlib-data")
        }
        let video = try VideoFaceSource(path: input, tracker: tracker, threads: threads)
        source = video
        audioWindow = StreamingAudioWindow(decoder: try AudioDecoder.open(path: input, alignTo: video.decoder.info.startTime ?? 0))
    }
    if !audioWindow.hasAudio { printError("warning: \(audio ?? input): no audio; the audio input is silent (missing modality)") }
    return (source, audioWindow)
}

/// How the model is chosen, shared by `run` and `batch`.
struct ModelOptions: ParsableArguments {
    @Option(help: "TSAV backbones weights (safetensors, from `emopipe convert`).")
    var backbones: String?
    @Option(help: "Fusion head: ca, jca, rjca, dca, iaca, tca, jmt, or a composition such as ca+iaca.")
    var head: String?
    @Option(help: "Fusion head weights (safetensors).")
    var headWeights: String?
    @Option(name: .customLong("model"), help: "A model folder holding tsav.safetensors and head_<name>.safetensors.")
    var folder: String?

    /// Resolves and loads the model; warns when its weights are synthetic.
    func load() throws -> (ModelLocator.Found, EmotionModel) {
        let found = try ModelLocator.resolve(backbones: backbones, head: head, headWeights: headWeights, folder: folder)
        let emotion = try EmotionModel(backbones: found.backbones, head: found.head, headWeights: found.headWeights)
        if emotion.synthetic {
            printError("warning: \(found.backbones) holds synthetic test weights: the numbers below carry no meaning")
        }
        return (found, emotion)
    }
}

struct RunFailure: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// Rows to stdout, or to a temporary file renamed over `path` only when everything succeeded.
final class RowSink {
    let format: OutputFormat
    let path: String?
    private let handle: FileHandle
    private let temporary: String?
    private(set) var rows: [FrameOutput] = []
    private let keepRows: Bool
    private var buffer = ""

    init(path: String?, format: OutputFormat, keepRows: Bool) throws {
        self.format = format
        self.path = path
        self.keepRows = keepRows
        if let path {
            let url = URL(fileURLWithPath: path)
            let tmp = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())").path
            guard FileManager.default.createFile(atPath: tmp, contents: nil), let h = FileHandle(forWritingAtPath: tmp) else {
                throw RunFailure("\(path): cannot create the output file (does its folder exist and is it writable?)")
            }
            handle = h
            temporary = tmp
        } else {
            handle = FileHandle.standardOutput
            temporary = nil
        }
        if let header = format.header { buffer += header + "\n" }
    }

    func write(_ row: FrameOutput) throws {
        if keepRows { rows.append(row) }
        buffer += format.line(row) + "\n"
        if buffer.utf8.count > 1 << 16 { flush() }
    }

    private func flush() {
        handle.write(Data(buffer.utf8))
        buffer = ""
    }

    func finish() throws {
        flush()
        guard let temporary, let path else { return }
        try handle.close()
        guard rename(temporary, path) == 0 else {
            try? FileManager.default.removeItem(atPath: temporary)
            throw RunFailure("\(path): cannot write (\(String(cString: strerror(errno))))")
        }
    }

    /// Drops everything written so far: no partial output file is left behind.
    func abandon() {
        guard let temporary else { return }
        try? handle.close()
        try? FileManager.default.removeItem(atPath: temporary)
    }
}
