import ArgumentParser
import Face
import Foundation
import Kernels
import Models
import Pipeline

/// `emopipe VIDEO`: per-frame valence and arousal (the default subcommand).
struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Per-frame valence and arousal of a video or an Aff-Wild2 cropped_aligned folder (default command).",
        discussion: """
        Rows go to stdout (or -o FILE, written atomically: a regular file is replaced only when the run succeeds; \
        a symbolic link is written through to its file; a FIFO or a device is written as the rows come). Logs and \
        progress go to stderr.
        Model: --backbones TSAV.safetensors --head NAME --head-weights HEAD.safetensors, or --model DIR, or the \
        folder named by $EMOPIPE_MODEL (see `emopipe models` and docs/weights.md).
        Exit status: 0 on success; 1 on an error (one line on stderr, no rows made up, no partial file); 3 when the \
        video is truncated (the rows cover the frames before the truncation); 64 on a usage error.
        """
    )

    @Argument(help: "A video file, or an Aff-Wild2 cropped_aligned/<video>/ folder of 00001.jpg … crops.")
    var input: String?
    @Option(help: ArgumentHelp("Run the head(s) on a features file (`emopipe features`) instead of an input: no backbones "
                               + "needed; the rows are the full run's.", valueName: "file.safetensors"))
    var features: String?

    @OptionGroup var model: ModelOptions

    @Option(help: "Audio of a cropped_aligned folder: the prepared Audio_files/<video>.wav (official protocol; sample 0 is frame 1), or the original video (its audio and timestamps are then prepared as the official preprocessing does).")
    var audio: String?
    @Option(help: "mkvextract timestamps of a cropped_aligned folder (<video>_video_ts.txt), official protocol.")
    var timestamps: String?
    @Option(parsing: .unconditional, help: "Frame rate of a cropped_aligned folder.")
    var fps: Double = 30
    @Option(help: ArgumentHelp("Whose face to follow: primary (largest, most persistent), left, right, a track number, or all "
                               + "(every track, one after another, with a track column)."))
    var subject: FaceSubjects = .one(.primary)

    @Option(help: "Output format: csv (frame,time,face,valence,arousal), jsonl, or abaw (valence,arousal).")
    var format: OutputFormat = .csv
    @OptionGroup var computation: ProtocolOptions
    @OptionGroup var speed: SpeedOptions
    @Option(name: [.short, .customLong("output")], help: "Write rows to this file instead of stdout.")
    var output: String?
    @Option(help: "Also draw valence and arousal over time into this SVG file (face-less spans shaded); written together with -o.")
    var plot: String?
    @OptionGroup var threads: ThreadsOption
    @Flag(name: .shortAndLong, help: "No progress or summary on stderr (warnings and errors still).")
    var quiet = false

    func validate() throws {
        try validateFrameRate(fps)
        guard (input == nil) != (features == nil) else {
            throw ValidationError(input == nil ? "give an input (a video or a crop folder), or --features FILE"
                                               : "give an input or --features FILE, not both")
        }
        if let output, let plot, output == plot { throw ValidationError("-o and --plot name the same file") }
        if format == .abaw, subject == .all {
            throw ValidationError("--format abaw holds one subject's values; with --subject all use csv or jsonl (a track column)")
        }
        if format == .abaw, let heads = model.head, heads.specs.count > 1 {
            throw ValidationError("--format abaw holds one head's values; with several heads use csv or jsonl "
                                  + "(columns valence_<head>,arousal_<head>), or `emopipe batch`, which writes OUT/<head>/<name>.txt")
        }
    }

    func run() throws {
        if let features { return try runOnFeatures(features) }
        let path = self.input!
        guard case .one(let subject) = subject else { return try runEveryTrack(path) }
        let input = try PipelineInput.open(path, options: InputOptions(audio: audio, timestamps: timestamps, frameRate: fps, subject: subject,
                                                                       rules: computation.settings.rules),
                                           threads: threads.threads, faces: FaceModels.load)
        for w in input.warnings { warn(w) }
        // The outputs are created (and checked) before the model loads: a bad path fails at once.
        let rowsFile = try output.flatMap { $0 == "-" ? nil : try OutputFile(path: $0, protecting: input.files) }
        let plotFile = try plot.map { try OutputFile(path: $0, protecting: input.files) }
        if let r = rowsFile, let p = plotFile, r.target == p.target {
            throw PipelineError(plot, "is the same file as -o \(r.path)", remedy: "give two different files")
        }
        try KernelDispatch.checkEnvironment()
        let mode = speed.mode
        var settings = computation.settings
        settings.clipStride = mode.clipStride
        let session = try Session(model: mode.model(try model.load()), threads: threads.threads, settings: settings)
        if !quiet { printError("emopipe: \(input.frames.summary); head \(session.model.headNames); \(mode)") }

        let rows = try RowWriter(format: format, columns: OutputColumns(heads: session.model.heads.map(\.name)),
                                 sink: rowsFile ?? StandardOutput.shared)
        var kept: [FrameOutput] = []
        let bar = ProgressLine(label: "frames", total: input.frames.expectedFrames, enabled: !quiet)
        let summary: RunSummary
        do {
            // Rows go out after each head batch (every 512 frames), so a reader of stdout sees them as they come.
            summary = try session.run(input, progress: { bar.update($0) }, rowsDone: rows.flush) { row in
                if plotFile != nil { kept.append(row) }
                try rows.write(row)
            }
            bar.finish()
            try rows.flush()
            if let plotFile {
                let title = "\(URL(fileURLWithPath: path).lastPathComponent) — \(session.model.head.name)"
                try plotFile.write(SVGPlot.render(kept, title: title))
            }
            try OutputFile.commit(together: [rowsFile, plotFile].compactMap { $0 })
        } catch {
            bar.finish()
            rowsFile?.abandon()
            plotFile?.abandon()
            throw error
        }
        for w in summary.warnings { warn(w) }
        if !quiet {
            printError(String(format: "emopipe: %d frames (%d with a face) in %.1f s, %.2f frames/s", summary.frames,
                              summary.framesWithFace, summary.seconds, Double(summary.frames) / max(summary.seconds, 1e-9)))
            printError("emopipe: time per stage: \(summary.timings.summary)")
            printError("emopipe: \(summary.speedLine(model: session.model, clipStride: mode.clipStride))")
        }
        if let t = summary.truncationDetail {
            printError("emopipe: " + PipelineError(path, "truncated: \(t); the rows cover the \(summary.frames) frames before it",
                                                   remedy: "re-download or re-encode the file for the rest").description)
            throw ExitCode(3)
        }
    }

    /// `--features FILE`: the heads on cached features; the same outputs, progress and summary as a run.
    private func runOnFeatures(_ path: String) throws {
        if audio != nil || timestamps != nil || subject != .one(.primary) || fps != 30 || computation.rules != .official {
            warn("--audio, --timestamps, --fps, --subject and --protocol are the features file's own; the values given are not used")
        }
        let cache = try CachedFeatures(path: path)
        let rowsFile = try output.flatMap { $0 == "-" ? nil : try OutputFile(path: $0, protecting: [path]) }
        let plotFile = try plot.map { try OutputFile(path: $0, protecting: [path]) }
        let found = try ModelLocator.heads(model.head, headWeights: model.headWeights.map { $0.split(separator: ",").map(String.init) },
                                           folder: model.folder)
        let heads = try found.map { try FusionHeads.load($0.spec, path: $0.weights) }
        let names = heads.map(\.name)
        if !quiet {
            printError("emopipe: \(path): \(cache.frames) frames of \(cache.metadata["input"] ?? "?") (\(cache.dtype.rawValue), protocol "
                       + "\(cache.metadata["protocol"] ?? "?")); head \(names.joined(separator: ","))")
        }
        let rows = try RowWriter(format: format, columns: OutputColumns(heads: names), sink: rowsFile ?? StandardOutput.shared)
        var kept: [FrameOutput] = []
        let summary: PipelineSummary
        do {
            summary = try cache.run(heads: heads, headWeights: found.map(\.weights), smoothing: !computation.raw, threads: threads.threads, rowsDone: rows.flush) { row in
                if plotFile != nil { kept.append(row) }
                try rows.write(row)
            }
            try rows.flush()
            if let plotFile {
                try plotFile.write(SVGPlot.render(kept, title: "\(URL(fileURLWithPath: cache.metadata["input"] ?? path).lastPathComponent) — \(names[0])"))
            }
            try OutputFile.commit(together: [rowsFile, plotFile].compactMap { $0 })
        } catch {
            rowsFile?.abandon()
            plotFile?.abandon()
            throw error
        }
        if !quiet {
            printError(String(format: "emopipe: %d frames (%d with a face) in %.2f s from cached features", summary.frames,
                              summary.framesWithFace, summary.seconds))
        }
        if let t = summary.truncationDetail {
            printError("emopipe: " + PipelineError(cache.metadata["input"] ?? path, "truncated: \(t); the rows cover the \(summary.frames) frames before it",
                                                   remedy: "re-download or re-encode the file for the rest").description)
            throw ExitCode(3)
        }
    }

    /// `--subject all`: every face track, one run each, rows with a track column.
    private func runEveryTrack(_ path: String) throws {
        let rowsFile = try output.flatMap { $0 == "-" ? nil : try OutputFile(path: $0, protecting: [path]) }
        if plot != nil { warn("--plot draws one subject; with --subject all it is not drawn") }
        try KernelDispatch.checkEnvironment()
        var settings = computation.settings
        settings.clipStride = speed.mode.clipStride
        let session = try Session(model: speed.mode.model(try model.load()), threads: threads.threads, settings: settings)
        let rows = try RowWriter(format: format, columns: OutputColumns(heads: session.model.heads.map(\.name), track: true),
                                 sink: rowsFile ?? StandardOutput.shared)
        let results: [(track: Int, summary: RunSummary)]
        do {
            results = try session.runEveryTrack(path, options: InputOptions(audio: audio, timestamps: timestamps, frameRate: fps), started: { id, tracks in
                if !quiet { printError("emopipe: \(path): track \(id) (\(tracks.firstIndex(of: id)! + 1) of \(tracks.count))") }
            }, rowsDone: rows.flush) { try rows.write($0) }
            try rows.flush()
            try OutputFile.commit(together: [rowsFile].compactMap { $0 })
        } catch {
            rowsFile?.abandon()
            throw error
        }
        for (_, summary) in results { for w in summary.warnings { warn(w) } }
        if !quiet {
            for (id, s) in results {
                printError(String(format: "emopipe: track %d: %d frames with its face of %d, %.1f s", id, s.framesWithFace, s.frames, s.seconds))
            }
        }
    }
}
