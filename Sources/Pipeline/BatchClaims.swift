import Foundation
import Kernels

/// A process that holds (or held) a claim: its host, the boot of that host, its pid and its start time. Host name
/// and boot id together say whether it ran on this machine since its last boot, where its liveness can be checked;
/// the start time tells a recycled pid from the process itself.
public struct ClaimHolder: Sendable, Equatable, CustomStringConvertible {
    public let host: String
    public let bootID: String
    public let pid: Int32
    /// Field 22 of /proc/PID/stat (clock ticks after boot), 0 when unknown.
    public let startTicks: UInt64

    public init(host: String, bootID: String, pid: Int32, startTicks: UInt64) {
        self.host = host; self.bootID = bootID; self.pid = pid; self.startTicks = startTicks
    }

    /// This process.
    public static let current = ClaimHolder(host: hostName(), bootID: bootID(), pid: getpid(), startTicks: startTicks(of: getpid()) ?? 0)

    public var description: String { "process \(pid) on \(host)" }

    /// The claim file's text: one line, `pid=… host=… boot=… start=…`.
    public var line: String { "pid=\(pid) host=\(host) boot=\(bootID) start=\(startTicks)\n" }

    public init?(line: String) {
        var fields: [Substring: Substring] = [:]
        for part in line.split(whereSeparator: { $0 == " " || $0 == "\n" }) {
            guard let eq = part.firstIndex(of: "=") else { return nil }
            fields[part[..<eq]] = part[part.index(after: eq)...]
        }
        guard let p = fields["pid"].flatMap({ Int32($0) }), p > 0, let h = fields["host"], !h.isEmpty else { return nil }
        self.init(host: String(h), bootID: String(fields["boot"] ?? ""), pid: p, startTicks: fields["start"].flatMap { UInt64($0) } ?? 0)
    }

    /// Whether it ran on this machine since its last boot (so that its liveness can be checked here).
    public var isOnThisMachine: Bool {
        let me = ClaimHolder.current
        return host == me.host && bootID == me.bootID && !bootID.isEmpty
    }

    /// For a holder on this machine: whether the process still runs (the same process: same start time).
    public var isRunningHere: Bool {
        if let ticks = Self.startTicks(of: pid) { return startTicks == 0 || ticks == startTicks }
        return kill(pid, 0) == 0 || errno == EPERM
    }

    static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "unknown-host" }
        let name = String(cString: buffer).filter { !$0.isWhitespace && $0 != "=" }
        return name.isEmpty ? "unknown-host" : name
    }

    static func bootID() -> String {
        ((try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8)) ?? "")
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The start time of process `pid` from /proc (nil when it does not exist, or there is no /proc).
    static func startTicks(of pid: Int32) -> UInt64? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        // Fields after the command name (which may hold spaces): state is field 3, starttime field 22.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return fields.count > 19 ? UInt64(fields[19]) : nil
    }
}

/// Claims on a batch's inputs, shared by every worker writing to one output folder (on one machine or many, over a
/// shared file system), so that overlapping or restarted workers never process an input twice.
///
/// A claim is a file `OUT/.NAME.claim.G` created exclusively (`link(2)` of a fully written file: it appears with its
/// content or not at all, also over NFS) holding its process's pid, host, boot id and start time. An input is free
/// when it has no claim, or when its claim's process is gone:
/// - on this machine (same host name and boot id): gone when no process with that pid and start time runs;
/// - on another machine: gone when the claim's heartbeat is older than `staleAfter` — a holder touches its claim
///   files every `staleAfter / 4`, so a live one is never taken over while its host's clock agrees with ours
///   to within a fraction of `staleAfter`.
/// Taking over a claim of generation G is creating generation G + 1, exclusively too: of several workers that find
/// the same dead claim, exactly one wins. A claim is released (removed) after its output is committed, and on
/// SIGINT/SIGTERM/SIGHUP; a killed worker's claim stays until a worker takes it over.
public final class BatchClaims: @unchecked Sendable {
    // @unchecked: the mutable state (`held`) is only touched under `lock`; the rest is immutable.
    public let folder: String
    public let staleAfter: TimeInterval
    public let me = ClaimHolder.current
    private let lock = NSLock()
    /// Held claims: input name → (claim file, its slot in the signal-cleanup table).
    private var held: [String: (path: String, slot: Int?)] = [:]
    private var heartbeat: DispatchSourceTimer?

    public init(folder: String, staleAfter: TimeInterval = 600) {
        self.folder = folder
        self.staleAfter = staleAfter
        let timer = DispatchSource.makeTimerSource(queue: DispatchQueue.global(qos: .utility))
        let every = max(0.05, staleAfter / 4)
        timer.schedule(deadline: .now() + every, repeating: every)
        timer.setEventHandler { [weak self] in self?.touchHeld() }
        timer.resume()
        heartbeat = timer
    }

    deinit {
        heartbeat?.cancel()
        for (name, _) in held { release(name) }
    }

    public enum Outcome: Sendable, Equatable {
        /// The input is ours; `takenOverFrom`: the dead holder whose claim was taken over.
        case claimed(takenOverFrom: ClaimHolder?)
        /// Another live process holds it.
        case heldBy(ClaimHolder)
    }

    /// Claims input `name`: ours if it is free (no claim, or its holder is gone), else who holds it.
    public func claim(_ name: String) throws -> Outcome {
        lock.lock(); defer { lock.unlock() }
        if held[name] != nil { return .heldBy(me) }
        for _ in 0..<1000 {
            let generations = self.generations(of: name)
            guard let top = generations.last else {
                if try create(name, generation: 0) { return .claimed(takenOverFrom: nil) }
                continue
            }
            let path = claimPath(name, top)
            guard let (holder, modified) = read(path) else { continue }   // removed meanwhile: look again
            if let holder, isAlive(holder, modified: modified) { return .heldBy(holder) }
            if holder == nil, Date().timeIntervalSince(modified) < staleAfter {
                // Unreadable and recent: a claim being written on a file system without link(2).
                return .heldBy(ClaimHolder(host: "unknown-host", bootID: "", pid: 1, startTicks: 0))
            }
            if try create(name, generation: top + 1) {
                for g in generations { unlink(claimPath(name, g)) }
                return .claimed(takenOverFrom: holder ?? ClaimHolder(host: "unknown-host", bootID: "", pid: 1, startTicks: 0))
            }
        }
        throw PipelineError(folder, "the claims on \(name) keep changing", remedy: "check that the workers share this folder correctly")
    }

    /// Releases the claim on `name` (after its output is committed, or after a failure).
    public func release(_ name: String) {
        lock.lock(); defer { lock.unlock() }
        guard let (path, slot) = held.removeValue(forKey: name) else { return }
        // Only our own claim: after a long stall another worker may have taken it over.
        if let (holder, _) = read(path), holder == me { unlink(path) }
        TemporaryFiles.unregister(slot)
    }

    /// The live holder of `name`'s claim, nil when the input is free.
    public func holder(of name: String) -> ClaimHolder? {
        guard let top = generations(of: name).last, let (holder, modified) = read(claimPath(name, top)), let holder,
              isAlive(holder, modified: modified) else { return nil }
        return holder
    }

    /// Whether `holder`'s claim, last touched at `modified`, still stands.
    public func isAlive(_ holder: ClaimHolder, modified: Date) -> Bool {
        if holder == me { return true }
        if holder.isOnThisMachine { return holder.isRunningHere }
        return Date().timeIntervalSince(modified) < staleAfter
    }

    /// The claim generations of `name` present in the folder, increasing.
    private func generations(of name: String) -> [Int] {
        let prefix = ".\(name).claim."
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        return names.compactMap { n -> Int? in
            guard n.hasPrefix(prefix) else { return nil }
            let rest = n.dropFirst(prefix.count)
            guard !rest.isEmpty, rest.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
            return Int(rest)
        }.sorted()
    }

    private func claimPath(_ name: String, _ generation: Int) -> String {
        (folder as NSString).appendingPathComponent(".\(name).claim.\(generation)")
    }

    /// A claim file's holder (nil when unreadable) and modification time; nil when the file does not exist.
    private func read(_ path: String) -> (ClaimHolder?, Date)? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        let modified = Date(timeIntervalSince1970: Double(st.st_mtim.tv_sec) + Double(st.st_mtim.tv_nsec) / 1e9)
        guard let data = FileManager.default.contents(atPath: path) else { return stat(path, &st) == 0 ? (nil, modified) : nil }
        return (ClaimHolder(line: String(decoding: data, as: UTF8.self)), modified)
    }

    /// Creates claim generation `generation` of `name` exclusively; false when it exists already.
    private func create(_ name: String, generation: Int) throws -> Bool {
        let path = claimPath(name, generation)
        let staging = (folder as NSString).appendingPathComponent(".\(name).claiming-\(me.host)-\(me.pid)")
        let slot = TemporaryFiles.register(staging)
        defer { unlink(staging); TemporaryFiles.unregister(slot) }
        let fd = open(staging, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw PipelineError.writeFailed(staging, errno: errno) }
        let text = Array(me.line.utf8)
        let failed = text.withUnsafeBytes { writeAll(fd, $0) }
        close(fd)
        if let code = failed { throw PipelineError.writeFailed(staging, errno: code) }
        // Registered before it exists, so that a signal between link and registration cannot leave it behind.
        let claimSlot = TemporaryFiles.register(path)
        if link(staging, path) != 0 {
            let code = errno
            // NFS may report a failed link that happened: the staging file's link count tells.
            var st = stat()
            if !(code != EEXIST && stat(staging, &st) == 0 && st.st_nlink == 2) {
                TemporaryFiles.unregister(claimSlot)
                if code == EEXIST { return false }
                if code == EPERM || code == ENOTSUP || code == EOPNOTSUPP { return try createWithoutLink(path, text: text) }
                throw PipelineError(path, "cannot be created (\(String(cString: strerror(code))))",
                                    remedy: "the workers need a folder they can all write to")
            }
        }
        held[name] = (path, claimSlot)
        return true

        // File systems without hard links: O_EXCL, then the content (readers treat a recent empty claim as held).
        func createWithoutLink(_ path: String, text: [UInt8]) throws -> Bool {
            let slot = TemporaryFiles.register(path)
            let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            guard fd >= 0 else {
                let code = errno
                TemporaryFiles.unregister(slot)
                if code == EEXIST { return false }
                throw PipelineError.writeFailed(path, errno: code)
            }
            let failed = text.withUnsafeBytes { writeAll(fd, $0) }
            close(fd)
            if let code = failed { unlink(path); TemporaryFiles.unregister(slot); throw PipelineError.writeFailed(path, errno: code) }
            held[name] = (path, slot)
            return true
        }
    }

    /// The heartbeat: every held claim's modification time set to now.
    private func touchHeld() {
        lock.lock(); let paths = held.values.map(\.path); lock.unlock()
        for p in paths { utimes(p, nil) }
    }

    /// Removes what dead workers left in the output folder (and its subfolders one level down): temporary output
    /// files (`.NAME.tmp-PID`) whose input has no live claim and whose process does not run here, and staging files
    /// of claims (`.NAME.claiming-HOST-PID`) of processes of this host that no longer run. Returns their names.
    @discardableResult
    public func removeLeftovers(folders: [String]) -> [String] {
        var removed: [String] = []
        for dir in folders {
            let names = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted()
            for n in names {
                let path = (dir as NSString).appendingPathComponent(n)
                if let pid = TemporaryFiles.owner(ofTemporaryName: n), pid != getpid() {
                    // `.NAME.ext.tmp-PID` → the input NAME.
                    let target = String(n.dropFirst().prefix(upTo: n.range(of: ".tmp-", options: .backwards)!.lowerBound))
                    let input = (target as NSString).deletingPathExtension
                    guard holder(of: input) == nil, !(kill(pid, 0) == 0 || errno == EPERM) else { continue }
                    if unlink(path) == 0 { removed.append(n) }
                } else if let r = n.range(of: ".claiming-\(me.host)-", options: .backwards), n.hasPrefix("."),
                          let pid = Int32(n[r.upperBound...]), pid != getpid(), kill(pid, 0) == -1, errno == ESRCH {
                    if unlink(path) == 0 { removed.append(n) }
                }
            }
        }
        return removed
    }
}
