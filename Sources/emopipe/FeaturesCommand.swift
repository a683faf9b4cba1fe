import ArgumentParser
import Face
import Foundation
import Kernels
import Pipeline

extension FeatureDType: ExpressibleByArgument {}

/// `emopipe features INPUT -o F.safetensors`: the backbones' per-frame features, cached for any head
/// (`emopipe run --features`) or for training one (docs/cli.md shows how to load them in PyTorch).
struct Features: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Cache the per-frame features of a video or crop folder (for `run --features`, or to train a head).",
        discussion: """
        Runs the backbones (not a head) exactly as a run does and writes a safetensors file: per frame f (row f-1) the \
        visual features of the clip ending on f (R(2+1)D-18 layer4, 25088 values, and its per-channel maxima, 512, \
        JMT's input), its audio features (512, as the protocol computes them), time, face flag; the features of the \
        clips past the last frame that fill the last sequences; the protocol, the backbones file and its sha256 in the \
        metadata. `emopipe run --features FILE --head H --head-weights W` then runs any head (or several) on it, rows \
        byte-identical to a full run with --dtype f32 (the default); f16 halves the size. See docs/cli.md.
        """
    )

    @Argument(help: "A video file, or an Aff-Wild2 cropped_aligned/<video>/ folder of crops.") var input: String
    @Option(name: [.short, .customLong("output")], help: "The features file to write (safetensors).") var output: String
    @Option(help: "Feature values: f32 (run --features gives rows byte-identical to a full run) or f16 (half the size).")
    var dtype: FeatureDType = .f32
    @Option(help: "TSAV backbones weights (safetensors).") var backbones: String?
    @Option(name: .customLong("model"), help: "A model folder holding tsav.safetensors (its heads are not used).") var folder: String?
    @Option(help: "Audio of a cropped_aligned folder: the prepared Audio_files/<video>.wav (official protocol; sample 0 is frame 1), or the original video.")
    var audio: String?
    @Option(help: "mkvextract timestamps of a cropped_aligned folder (<video>_video_ts.txt), official protocol.") var timestamps: String?
    @Option(parsing: .unconditional, help: "Frame rate of a cropped_aligned folder.") var fps: Double = 30
    @Option(help: "Whose face to follow: primary, left, right, or a track number.") var subject: SubjectSelection = .primary
    @Option(name: .customLong("protocol"), help: "The protocol's conventions, as for run (docs/protocol.md).") var rules: ProtocolRules.Name = .official
    @OptionGroup var threads: ThreadsOption
    @Flag(name: .shortAndLong, help: "No progress or summary on stderr (warnings and errors still).") var quiet = false

    func validate() throws {
        try validateFrameRate(fps)
        guard output != "-" else { throw ValidationError("-o must name a file (the features are binary)") }
    }

    func run() throws {
        try KernelDispatch.checkEnvironment()
        let tsav = try ModelLocator.backbones(file: backbones, folder: folder)
        let input = try PipelineInput.open(self.input, options: InputOptions(audio: audio, timestamps: timestamps, frameRate: fps, subject: subject,
                                                                             rules: .named(rules)),
                                           threads: threads.threads, faces: FaceModels.load)
        for w in input.warnings { warn(w) }
        let file = try OutputFile(path: output, protecting: input.files)
        let summary: RunSummary
        do {
            let model = try EmotionModel(backbones: tsav, heads: [])
            if model.synthetic { warn("\(tsav) holds synthetic test weights: the features carry no meaning") }
            var settings = Session.Settings()
            settings.rules = .named(rules)
            let session = try Session(model: model, threads: threads.threads, settings: settings)
            if !quiet { printError("emopipe: \(input.frames.summary); features (\(dtype.rawValue)) → \(output)") }
            let metadata = ["backbones": tsav, "backbones_sha256": try SHA256.hex(file: tsav), "emopipe": EmoPipe.version,
                            "synthetic": model.synthetic ? "yes" : "no"]
            let bar = ProgressLine(label: "frames", total: input.frames.expectedFrames, enabled: !quiet)
            defer { bar.finish() }
            summary = try session.writeFeatures(input, to: file, dtype: dtype, metadata: metadata, progress: { bar.update($0) })
            try file.commit()
        } catch {
            file.abandon()
            throw error
        }
        for w in summary.warnings { warn(w) }
        if !quiet {
            let size = (try? FileManager.default.attributesOfItem(atPath: output)[.size] as? Int).flatMap { $0 } ?? 0
            printError(String(format: "emopipe: %d frames (%d with a face) in %.1f s, %.2f frames/s; %.1f MB", summary.frames,
                              summary.framesWithFace, summary.seconds, Double(summary.frames) / max(summary.seconds, 1e-9), Double(size) / 1e6))
        }
        if let t = summary.truncationDetail {
            printError("emopipe: " + PipelineError(self.input, "truncated: \(t); the features cover the \(summary.frames) frames before it",
                                                   remedy: "re-download or re-encode the file for the rest").description)
            throw ExitCode(3)
        }
    }
}
