import ArgumentParser
import Foundation
import Kernels
import Pipeline

// `ShardSelection.init?(argument:)` (the library's parser) is the conformance.
extension ShardSelection: ExpressibleByArgument {}

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
        Several workers (on one machine or on a cluster's nodes) may share IN and OUT: each input is claimed with a \
        lock file OUT/.<name>.claim.N (pid, host), so no input is run twice; a claim whose process is gone is taken \
        over. --shard I/N splits the inputs into N shards of about equal frame counts (the same split in every \
        worker); in a SLURM job array (sbatch --array) the task's shard is the default. --plan prints the split \
        without running. See docs/cluster.md.
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
    @Option(help: ArgumentHelp("This worker's part of the inputs: I/N (shard I of N, 1 ≤ I ≤ N), slurm (from the SLURM job "
                               + "array: the default in an array task), or all (the default elsewhere).", valueName: "I/N|slurm|all"))
    var shard: ShardSelection?
    @Flag(help: "Print which inputs each shard gets (CSV: shard,input,frames,status) and exit.") var plan = false
    @Option(parsing: .unconditional, help: ArgumentHelp("Inputs run at once, sharing --threads (models loaded once).", valueName: "j"))
    var jobs: Int = 1
    @Option(parsing: .unconditional, help: ArgumentHelp("Seconds without a heartbeat after which another host's claim is taken over.",
                                                        valueName: "seconds"))
    var claimTimeout: Double = 600
    @OptionGroup var threads: ThreadsOption

    func validate() throws {
        try validateFrameRate(fps)
        guard jobs >= 1 else { throw ValidationError("--jobs must be at least 1, not \(jobs)") }
        guard jobs <= threads.threads else {
            throw ValidationError("--jobs \(jobs) is more than --threads \(threads.threads): each job needs a thread of its own")
        }
        guard claimTimeout >= 1, claimTimeout.isFinite else { throw ValidationError("--claim-timeout must be at least 1 second") }
    }

    func run() throws {
        // ABAW files hold one head's values: with several heads, one folder per head (OUT/<head>/<name>.txt).
        let heads = model.head?.specs.map(\.name) ?? []
        let all = try BatchPlan.items(inputs: inputs, outputs: outputs, outputExtension: format == .abaw ? "txt" : format.rawValue,
                                      audioFolder: audioDir, headFolders: format == .abaw && heads.count > 1 ? heads : nil)
        guard !all.isEmpty else {
            throw PipelineError(inputs, "no video files or crop folders in it", remedy: "give the folder that holds them")
        }
        let shard = try ShardSelection.resolve(self.shard)
        let shards = BatchPlan.shards(all, count: shard.count, frameRate: fps, probe: plan)
        if plan { return try printPlan(shards) }
        try KernelDispatch.checkEnvironment()

        let folders = Array(Set(all[0].outputs.map { ($0 as NSString).deletingLastPathComponent })).sorted()
        for folder in [outputs] + folders {
            do { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) } catch {
                throw PipelineError(folder, "cannot be created (\(OneLine.reason(for: error)))", remedy: "choose a folder you can write to")
            }
        }
        let items = shards[shard.index - 1].map(\.item)
        var settings = BatchSettings()
        settings.format = format
        settings.overwrite = overwrite
        settings.frameRate = fps
        settings.jobs = jobs
        settings.threads = threads.threads
        settings.session = computation.settings
        settings.session.clipStride = speed.mode.clipStride
        settings.staleAfter = claimTimeout
        settings.timestampsFolder = timestampsDir
        let runner = try BatchRunner(items: items, outputs: outputs, model: speed.mode.model(try model.load()), settings: settings)
        printError("emopipe batch: \(speed.mode); \(KernelDispatch.summary)")
        let stale = runner.claims.removeLeftovers(folders: Array(Set([outputs] + folders)).sorted())
        if !stale.isEmpty { printError("emopipe batch: removed \(stale.count) temporary file(s) of interrupted runs in \(outputs)") }
        if shard.count > 1 {
            printError("emopipe batch: shard \(shard): \(items.count) of \(all.count) inputs")
        }

        let summary = try runner.run { position, item, event in
            let tag = "[\(position + 1)/\(items.count)] \(item.name)"
            switch event {
            case .exists: printError("\(tag): \(item.output) exists, skipped")
            case .claimedBy(let holder): printError("\(tag): claimed by \(holder), skipped")
            case .tookOver(let holder): printError("\(tag): taking over the claim of \(holder), which is gone")
            case .done(let summary, let warnings):
                for w in warnings { warn(w) }
                let rate = String(format: "%.2f", Double(summary.frames) / max(summary.seconds, 1e-9))
                printError("\(tag): \(summary.frames) frames (\(summary.framesWithFace) with a face), \(rate) frames/s → \(item.output)")
            case .failed(let message): printError("emopipe: " + message)
            }
        }
        let claimed = summary.claimedElsewhere > 0 ? ", \(summary.claimedElsewhere) claimed by other workers" : ""
        printError("emopipe batch: \(summary.done) done, \(summary.skipped) skipped, \(summary.failed) failed\(claimed) "
                   + "(head \(runner.model.headNames))")
        if summary.failed > 0 { throw ExitCode.failure }
    }

    /// `--plan`: every shard's inputs with their frame counts and whether they are done, claimed or to do.
    private func printPlan(_ shards: [[BatchPlan.PlannedInput]]) throws {
        let claims = BatchClaims(folder: outputs)
        var text = "shard,input,frames,status\n"
        for (s, inputs) in shards.enumerated() {
            let frames = inputs.reduce(0) { $0 + ($1.frames ?? 0) }
            printError("shard \(s + 1)/\(shards.count): \(inputs.count) inputs, \(frames) frames")
            for p in inputs {
                let status = FileManager.default.fileExists(atPath: p.item.output) ? "done"
                    : claims.holder(of: p.item.name).map { "claimed by \($0)" } ?? "to do"
                let name = p.item.name.contains(",") || p.item.name.contains("\"") ? "\"" + p.item.name.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : p.item.name
                text += "\(s + 1),\(name),\(p.frames.map(String.init) ?? ""),\(status)\n"
            }
        }
        try StandardOutput.shared.write(text)
    }
}
