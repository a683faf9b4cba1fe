import Face
import Foundation

/// How a batch runs (`emopipe batch`).
public struct BatchSettings: Sendable {
    public var format: OutputFormat = .abaw
    /// Recompute inputs whose output exists (except outputs written after this worker started: another worker of
    /// the same run made them).
    public var overwrite = false
    /// Frame rate of crop folders.
    public var frameRate: Double = 30
    /// Inputs run at once in this process, each with its share of `threads`.
    public var jobs = 1
    public var threads = ThreadCount.allCores
    public var session = Session.Settings()
    /// Age of another host's claim heartbeat after which its claim is taken over (`BatchClaims`).
    public var staleAfter: TimeInterval = 600
    /// Folder of mkvextract timestamps for crop folders (`<video>_video_ts.txt`; official protocol).
    public var timestampsFolder: String?
    public init() {}

    /// The threads of each of `jobs` jobs sharing `threads`: as even as possible, the first ones taking the rest.
    public static func threadsPerJob(threads: Int, jobs: Int) -> [Int] {
        (0..<jobs).map { threads / jobs + ($0 < threads % jobs ? 1 : 0) }
    }
}

/// What happened to one input of a batch.
public enum BatchEvent: Sendable {
    /// Its output exists (resume).
    case exists
    /// Another live worker holds its claim.
    case claimedBy(ClaimHolder)
    /// Its claim was held by a worker that is gone; this one took it over (and runs it: `done` or `failed` follows).
    case tookOver(ClaimHolder)
    case done(RunSummary, warnings: [String])
    case failed(String)
}

public struct BatchSummary: Sendable {
    public var done = 0, skipped = 0, claimedElsewhere = 0, failed = 0
}

/// Runs a batch's inputs (one shard of them) to their output files: `jobs` at a time, each job a `Session` over the
/// one shared model (and face models), every input under a claim (`BatchClaims`) so that workers sharing the output
/// folder never run an input twice. An input's output is written completely or not at all; a failing input is
/// reported and the others go on.
public final class BatchRunner {
    public let items: [BatchItem]
    public let outputs: String
    public let model: EmotionModel
    public let settings: BatchSettings
    public let claims: BatchClaims
    private let started = Date()

    public init(items: [BatchItem], outputs: String, model: EmotionModel, settings: BatchSettings) throws {
        guard settings.jobs >= 1, settings.jobs <= settings.threads else {
            throw PipelineError(nil, "\(settings.jobs) jobs on \(settings.threads) threads", remedy: "each job needs a thread: give 1 ≤ jobs ≤ threads")
        }
        self.items = items
        self.outputs = outputs
        self.model = model
        self.settings = settings
        claims = BatchClaims(folder: outputs, staleAfter: settings.staleAfter)
    }

    /// Runs every input; `report(position, item, event)` is called (one call at a time) as each input is decided or
    /// finished, `position` being its place in `items` (0-based).
    public func run(report: @escaping @Sendable (Int, BatchItem, BatchEvent) -> Void) throws -> BatchSummary {
        // Face models once for the process, before any job starts (only when a video needs them).
        let faces = try items.contains { $0.kind == .video } ? FaceModels.load() : nil
        let perJob = BatchSettings.threadsPerJob(threads: settings.threads, jobs: settings.jobs)
        let sessions = try perJob.map { try Session(model: model, threads: $0, settings: settings.session, faceModels: faces) }

        let state = SharedState(report: report)
        if sessions.count == 1 {
            work(session: sessions[0], state: state)
        } else {
            // One thread per job (not the global queue: the kernels fan out on it), each taking the next input.
            let group = DispatchGroup()
            for session in sessions {
                group.enter()
                let box = UncheckedBox((self, session, state))
                let thread = Thread {
                    let (runner, session, state) = box.value
                    runner.work(session: session, state: state)
                    group.leave()
                }
                thread.stackSize = 8 << 20
                thread.start()
            }
            group.wait()
        }
        return state.summary
    }

    /// One job: inputs in order, each taken by exactly one job.
    private func work(session: Session, state: SharedState) {
        while let position = state.next(count: items.count) {
            let item = items[position]
            let event = decideAndRun(item, session: session) { state.report(position, item, $0) }
            state.report(position, item, event)
        }
    }

    /// Whether `item`'s outputs are done: they exist and, with `overwrite`, were written after this worker started.
    private func isDone(_ item: BatchItem) -> Bool {
        item.outputs.allSatisfy { output in
            var st = stat()
            guard stat(output, &st) == 0 else { return false }
            guard settings.overwrite else { return true }
            return Double(st.st_mtim.tv_sec) + Double(st.st_mtim.tv_nsec) / 1e9 >= started.timeIntervalSince1970 - 1
        }
    }

    private func decideAndRun(_ item: BatchItem, session: Session, early: (BatchEvent) -> Void) -> BatchEvent {
        if !settings.overwrite && isDone(item) { return .exists }
        let outcome: BatchClaims.Outcome
        do { outcome = try claims.claim(item.name) } catch { return .failed(OneLine.message(for: error)) }
        switch outcome {
        case .heldBy(let holder):
            return .claimedBy(holder)
        case .claimed(let previous):
            defer { claims.release(item.name) }
            if let previous {
                // The dead worker's half-written output goes with its claim.
                for output in item.outputs { unlink(TemporaryFiles.path(for: output, pid: previous.pid)) }
                early(.tookOver(previous))
            }
            // Finished by another worker between the check above and the claim.
            if isDone(item) { return .exists }
            do {
                let (summary, warnings) = try run(item, session: session)
                return .done(summary, warnings: warnings)
            } catch {
                return .failed(OneLine.message(for: error))
            }
        }
    }

    /// `<name>_video_ts.txt` in `folder`, or the base video's for Aff-Wild2's `<video>_left` / `<video>_right`.
    static func timestampsFile(for name: String, in folder: String) -> String? {
        BatchPlan.stems(of: name).map { (folder as NSString).appendingPathComponent("\($0)_video_ts.txt") }.first { FileManager.default.fileExists(atPath: $0) }
    }

    /// One input to its output file (or files: one per head): written completely, or not at all.
    private func run(_ item: BatchItem, session: Session) throws -> (RunSummary, [String]) {
        let timestamps = item.kind == .cropFolder ? settings.timestampsFolder.flatMap { Self.timestampsFile(for: item.name, in: $0) } : nil
        let input = try session.open(item.path, options: InputOptions(audio: item.audio, timestamps: timestamps, frameRate: settings.frameRate))
        var files: [OutputFile] = []
        do {
            for output in item.outputs { files.append(try OutputFile(path: output, protecting: input.files)) }
            let names = model.heads.map(\.name)
            let writers: [(RowWriter, Int?)]
            if files.count == 1 {
                writers = [(try RowWriter(format: settings.format, columns: OutputColumns(heads: names), sink: files[0]), nil)]
            } else {
                // One file per head: each file gets its head's values.
                writers = try files.indices.map { (try RowWriter(format: settings.format, columns: OutputColumns(heads: [names[$0]]), sink: files[$0]), $0) }
            }
            let summary = try session.run(input) { row in
                for (w, head) in writers {
                    try w.write(head.map { FrameOutput(frame: row.frame, time: row.time, face: row.face, values: [row.values[$0]], track: row.track) } ?? row)
                }
            }
            for (w, _) in writers { try w.flush() }
            try OutputFile.commit(together: files)
            var warnings = input.warnings + summary.warnings
            if let t = summary.truncationDetail { warnings.append("\(item.path): truncated: \(t); the rows cover the frames before it") }
            return (summary, warnings)
        } catch {
            for f in files { f.abandon() }
            throw error
        }
    }

    /// The jobs' shared queue position, tallies and report calls.
    private final class SharedState: @unchecked Sendable {
        // @unchecked: every member is read and written under `lock`.
        private let lock = NSLock()
        private var position = 0
        private(set) var summary = BatchSummary()
        private let reportBody: @Sendable (Int, BatchItem, BatchEvent) -> Void

        init(report: @escaping @Sendable (Int, BatchItem, BatchEvent) -> Void) { reportBody = report }

        func next(count: Int) -> Int? {
            lock.lock(); defer { lock.unlock() }
            guard position < count else { return nil }
            position += 1
            return position - 1
        }

        func report(_ position: Int, _ item: BatchItem, _ event: BatchEvent) {
            lock.lock(); defer { lock.unlock() }
            switch event {
            case .exists: summary.skipped += 1
            case .claimedBy: summary.claimedElsewhere += 1
            case .tookOver: break
            case .done: summary.done += 1
            case .failed: summary.failed += 1
            }
            reportBody(position, item, event)
        }
    }
}

/// Carries values into a job thread. Sound because each job thread only uses its own session, and the shared
/// runner and state are immutable or lock-protected.
private struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
