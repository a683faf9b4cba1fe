import ArgumentParser
import Foundation
import Kernels
import Pipeline

/// `emopipe batch IN OUT`: every video (or Aff-Wild2 crop folder) of a folder, one output file each.
struct Batch: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run every video (or cropped_aligned folder) in a folder; one output file per input.",
        discussion: """
        Inputs: the video files of IN (mp4, avi, mkv, mov, webm, …) and its subfolders of numbered crops \
        (an Aff-Wild2 cropped_aligned root); hidden files and OUT itself (when inside IN) are not inputs. A crop \
        folder takes its audio from --audio-dir, matched by name (Aff-Wild2's <video>_left / <video>_right use \
        <video>'s audio). Outputs are OUT/<name>.txt (ABAW layout, the default) or .csv/.jsonl, written atomically; \
        two inputs with one name (a.mp4 and a.mkv, or a/ and a.mp4) are refused before any work. Existing outputs \
        are skipped unless --overwrite, so an interrupted batch resumes; temporary files left by killed runs are \
        removed. A failing input is reported and the batch goes on; the exit status is 1 if any failed.
        """
    )

    @Argument(help: "Folder of videos or of cropped_aligned crop folders.") var inputs: String
    @Argument(help: "Folder for the outputs (created when missing).") var outputs: String
    @OptionGroup var model: ModelOptions
    @Option(help: "Folder of audio files for crop folders (<video>.wav — the official protocol's prepared Audio_files — or the original <video>.mp4, …).") var audioDir: String?
    @Option(help: "Folder of mkvextract timestamps for crop folders (<video>_video_ts.txt, official protocol).") var timestampsDir: String?
    @Option(parsing: .unconditional, help: "Frame rate of crop folders.") var fps: Double = 30
    @Option(help: "Output format: abaw (default), csv or jsonl.") var format: OutputFormat = .abaw
    @OptionGroup var computation: ProtocolOptions
    @OptionGroup var speed: SpeedOptions
    @Flag(help: "Recompute inputs whose output exists.") var overwrite = false
    @OptionGroup var threads: ThreadsOption

    func validate() throws { try validateFrameRate(fps) }

    func run() throws {
        let items = try BatchPlan.items(inputs: inputs, outputs: outputs, outputExtension: format == .abaw ? "txt" : format.rawValue,
                                        audioFolder: audioDir)
        guard !items.isEmpty else {
            throw PipelineError(inputs, "no video files or crop folders in it", remedy: "give the folder that holds them")
        }
        do { try FileManager.default.createDirectory(atPath: outputs, withIntermediateDirectories: true) } catch {
            throw PipelineError(outputs, "cannot be created (\(OneLine.reason(for: error)))", remedy: "choose a folder you can write to")
        }
        let stale = TemporaryFiles.removeStale(in: outputs)
        if !stale.isEmpty { printError("emopipe batch: removed \(stale.count) temporary file(s) of interrupted runs in \(outputs)") }
        try KernelDispatch.checkEnvironment()
        var settings = computation.settings
        settings.clipStride = speed.mode.clipStride
        let session = try Session(model: speed.mode.model(try model.load()), threads: threads.threads, settings: settings)
        printError("emopipe batch: \(speed.mode); \(KernelDispatch.summary)")

        var failed = 0, skipped = 0, done = 0
        for (i, item) in items.enumerated() {
            let tag = "[\(i + 1)/\(items.count)] \(item.name)"
            if !overwrite && FileManager.default.fileExists(atPath: item.output) {
                skipped += 1
                printError("\(tag): \(item.output) exists, skipped")
                continue
            }
            do {
                let summary = try run(item, session: session)
                done += 1
                let rate = String(format: "%.2f", Double(summary.frames) / max(summary.seconds, 1e-9))
                printError("\(tag): \(summary.frames) frames (\(summary.framesWithFace) with a face), \(rate) frames/s → \(item.output)")
            } catch {
                failed += 1
                printError("emopipe: " + OneLine.message(for: error))
            }
        }
        printError("emopipe batch: \(done) done, \(skipped) skipped, \(failed) failed (head \(session.model.head.name))")
        if failed > 0 { throw ExitCode.failure }
    }

    /// `<name>_video_ts.txt` in `folder`, or the base video's for Aff-Wild2's `<video>_left` / `<video>_right`.
    private func timestampsFile(for name: String, in folder: String) -> String? {
        var stems = [name]
        for suffix in ["_left", "_right"] where name.hasSuffix(suffix) { stems.append(String(name.dropLast(suffix.count))) }
        return stems.map { (folder as NSString).appendingPathComponent("\($0)_video_ts.txt") }.first { FileManager.default.fileExists(atPath: $0) }
    }

    /// One input to its output file: written completely, or not at all.
    private func run(_ item: BatchItem, session: Session) throws -> RunSummary {
        let timestamps = item.kind == .cropFolder ? timestampsDir.flatMap { timestampsFile(for: item.name, in: $0) } : nil
        let input = try session.open(item.path, options: InputOptions(audio: item.audio, timestamps: timestamps, frameRate: fps))
        for w in input.warnings { warn(w) }
        let file = try OutputFile(path: item.output, protecting: input.files)
        do {
            let rows = try RowWriter(format: format, sink: file)
            let summary = try session.run(input) { try rows.write($0) }
            try rows.flush()
            try file.commit()
            for w in summary.warnings { warn(w) }
            if let t = summary.truncationDetail { warn("\(item.path): truncated: \(t); the rows cover the frames before it") }
            return summary
        } catch {
            file.abandon()
            throw error
        }
    }
}
