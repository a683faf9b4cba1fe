import ArgumentParser
import Foundation
import Kernels
import Pipeline

/// `emopipe batch IN OUT`: every video (or Aff-Wild2 crop folder) of a folder, one output file each.
struct Batch: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run every video (or cropped_aligned folder) in a folder; one output file per input.",
        discussion: """
        Inputs: the video files of IN (mp4, avi, mkv, mov, webm, …) and its subfolders of numbered crops
        (an Aff-Wild2 cropped_aligned root). A crop folder takes its audio from --audio-dir, matched by name
        (Aff-Wild2's <video>_left / <video>_right use <video>'s audio). Outputs are OUT/<name>.txt (ABAW layout,
        the default) or .csv/.jsonl, written atomically; existing outputs are skipped unless --overwrite, so an
        interrupted batch resumes. A failing input is reported and the batch goes on; the exit status is 1 if any failed.
        """
    )

    static let videoExtensions: Set<String> = ["mp4", "avi", "mkv", "mov", "webm", "m4v", "mpg", "mpeg", "wmv", "flv", "ts"]

    @Argument(help: "Folder of videos or of cropped_aligned crop folders.") var inputs: String
    @Argument(help: "Folder for the outputs (created when missing).") var outputs: String
    @OptionGroup var model: ModelOptions
    @Option(help: "Folder of audio files for crop folders (<video>.wav, .mp4, …).") var audioDir: String?
    @Option(help: "Frame rate of crop folders.") var fps: Double = 30
    @Option(help: "Output format: abaw (default), csv or jsonl.") var format: String = "abaw"
    @Flag(help: "Skip the moving-average smoothing.") var raw = false
    @Flag(help: "Recompute inputs whose output exists.") var overwrite = false
    @Option(help: "Threads for the numeric kernels (default: all cores).")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    func validate() throws {
        guard OutputFormat(rawValue: format) != nil else { throw ValidationError("--format must be abaw, csv or jsonl") }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
    }

    /// (name, path, isCropFolder) for every input, sorted by name.
    func listInputs() throws -> [(String, String, Bool)] {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: inputs, isDirectory: &isDir), isDir.boolValue else {
            throw RunFailure("\(inputs): no such folder")
        }
        let names = try FileManager.default.contentsOfDirectory(atPath: inputs).sorted()
        return names.compactMap { name in
            let path = (inputs as NSString).appendingPathComponent(name)
            var d: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: path, isDirectory: &d)
            if d.boolValue { return (name, path, true) }
            let ext = (name as NSString).pathExtension.lowercased()
            return Self.videoExtensions.contains(ext) ? ((name as NSString).deletingPathExtension, path, false) : nil
        }
    }

    /// The audio file of a crop folder: <name>.* in --audio-dir, or the base video's for _left/_right.
    func audioFile(for name: String) -> String? {
        guard let audioDir else { return nil }
        let files = (try? FileManager.default.contentsOfDirectory(atPath: audioDir)) ?? []
        var stems = [name]
        for suffix in ["_left", "_right"] where name.hasSuffix(suffix) { stems.append(String(name.dropLast(suffix.count))) }
        for stem in stems {
            if let f = files.sorted().first(where: { ($0 as NSString).deletingPathExtension == stem }) {
                return (audioDir as NSString).appendingPathComponent(f)
            }
        }
        return nil
    }

    func run() throws {
        let format = OutputFormat(rawValue: format)!
        let found: ModelLocator.Found, emotion: EmotionModel, items: [(String, String, Bool)]
        do {
            (found, emotion) = try model.load()
            items = try listInputs()
            try FileManager.default.createDirectory(atPath: outputs, withIntermediateDirectories: true)
        } catch {
            printError("error: \(error)")
            throw ExitCode.failure
        }
        guard !items.isEmpty else {
            printError("error: \(inputs): no video files or crop folders in it")
            throw ExitCode.failure
        }
        var options = PipelineOptions(threads: threads)
        options.smoothing = !raw
        let ext = format == .abaw ? "txt" : format.rawValue
        var failed = 0, skipped = 0, done = 0
        for (i, (name, path, isCrops)) in items.enumerated() {
            let out = (outputs as NSString).appendingPathComponent("\(name).\(ext)")
            let tag = "[\(i + 1)/\(items.count)] \(name)"
            if !overwrite && FileManager.default.fileExists(atPath: out) {
                skipped += 1
                printError("\(tag): \(out) exists, skipped")
                continue
            }
            do {
                let (source, audio) = try openInput(path, audio: isCrops ? audioFile(for: name) : nil, fps: fps, subject: "primary", threads: threads)
                let pipeline = EmotionPipeline(model: emotion, options: options)
                let sink = try RowSink(path: out, format: format, keepRows: false)
                let summary: PipelineSummary
                do {
                    summary = try pipeline.run(source: source, audio: audio) { try sink.write($0) }
                    guard summary.frames > 0 else { throw RunFailure("\(path): no frame could be decoded") }
                    try sink.finish()
                } catch {
                    sink.abandon()
                    throw error
                }
                for w in summary.warnings { printError("warning: \(w)") }
                if let t = summary.truncationDetail { printError("warning: \(path): truncated: \(t)") }
                done += 1
                let rate = String(format: "%.2f", Double(summary.frames) / max(summary.seconds, 1e-9))
                printError("\(tag): \(summary.frames) frames (\(summary.framesWithFace) with a face), \(rate) frames/s → \(out)")
            } catch {
                failed += 1
                printError("error: \(tag): \(error)")
            }
        }
        printError("emopipe batch: \(done) done, \(skipped) skipped, \(failed) failed (head \(found.head.name))")
        if failed > 0 { throw ExitCode.failure }
    }
}
