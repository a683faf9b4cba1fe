import Foundation

/// The temporary files of atomic outputs (`.NAME.tmp-PID` beside NAME): registered while they exist, so that an
/// interrupted process removes them, and recognisable afterwards, so that a later run removes those of processes
/// that died without cleaning up.
public enum TemporaryFiles {
    /// The temporary name of `target` for process `pid`.
    public static func path(for target: String, pid: Int32 = getpid()) -> String {
        let url = URL(fileURLWithPath: target)
        return url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp-\(pid)").path
    }

    /// The process id in a temporary file's name, nil when the name is not one.
    public static func owner(ofTemporaryName name: String) -> Int32? {
        guard name.hasPrefix("."), let r = name.range(of: ".tmp-", options: .backwards), r.lowerBound > name.index(after: name.startIndex) else {
            return nil
        }
        let digits = name[r.upperBound...]
        guard !digits.isEmpty, digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber) else { return nil }
        return Int32(digits)
    }

    /// Removes the temporary files in `folder` whose process no longer exists; returns their names.
    @discardableResult
    public static func removeStale(in folder: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        var removed: [String] = []
        for name in names.sorted() {
            guard let pid = owner(ofTemporaryName: name), pid != getpid(), pid > 0 else { continue }
            guard kill(pid, 0) == -1 && errno == ESRCH else { continue }   // alive, or not ours to judge
            if unlink((folder as NSString).appendingPathComponent(name)) == 0 { removed.append(name) }
        }
        return removed
    }

    // MARK: - Removal on SIGINT, SIGTERM and SIGHUP

    /// Registered paths as C strings, read by the signal handler. A fixed table allocated before any handler is
    /// installed, so that the handler only loads pointers and calls unlink (both async-signal-safe). A slot's
    /// string is never freed: the handler may be reading it while the slot is cleared (a few bytes per file).
    nonisolated(unsafe) private static let slots: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?> = {
        let p = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: capacity)
        p.initialize(repeating: nil, count: capacity)
        return p
    }()
    private static let capacity = 64
    private static let lock = NSLock()

    /// Registers a temporary file for removal on a signal; returns its slot for `unregister`.
    static func register(_ path: String) -> Int? {
        lock.lock(); defer { lock.unlock() }
        guard let i = (0..<capacity).first(where: { slots[$0] == nil }) else { return nil }
        slots[i] = strdup(path)
        return i
    }

    static func unregister(_ slot: Int?) {
        guard let slot else { return }
        lock.lock(); defer { lock.unlock() }
        slots[slot] = nil
    }

    /// Installs handlers that remove every registered temporary file, then end the process by the same signal
    /// (so that the shell sees the interruption as usual).
    public static func removeOnSignals() {
        _ = slots   // allocate the table before a handler can run
        // A parent may hand these signals down blocked (a test runner's Process does): unblocked, they reach the handler.
        var set = sigset_t()
        sigemptyset(&set)
        for sig in [SIGINT, SIGTERM, SIGHUP] { sigaddset(&set, sig) }
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
        for sig in [SIGINT, SIGTERM, SIGHUP] {
            signal(sig) { sig in
                for i in 0..<TemporaryFiles.capacity {
                    if let p = TemporaryFiles.slots[i] { unlink(p) }
                }
                signal(sig, SIG_DFL)
                raise(sig)
            }
        }
    }
}
