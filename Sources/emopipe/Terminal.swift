import Foundation
import Kernels

/// Standard error and the process's exit status. Nothing here traps: a failed write to stderr is remembered, and
/// makes the exit status 1 (the messages were lost), but never stops the run.
enum Terminal {
    nonisolated(unsafe) private(set) static var stderrFailed = false

    /// Before anything else: a closed standard descriptor (`>&-`, `2>&-`) is held by /dev/null opened read-only,
    /// so that a file opened later cannot take its number (and receive the messages), while writes to it still fail;
    /// SIGPIPE and SIGXFSZ become errors of the write that caused them instead of killing the process.
    static func prepare() {
        for fd in [STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO] where fcntl(fd, F_GETFD) == -1 && errno == EBADF {
            let null = open("/dev/null", O_RDONLY)
            if null >= 0 && null != fd { dup2(null, fd); close(null) }
        }
        signal(SIGPIPE, SIG_IGN)
        signal(SIGXFSZ, SIG_IGN)
    }

    /// Writes `text` to stderr as it is.
    static func writeError(_ text: String) {
        var t = text
        let failure = t.withUTF8 { writeAll(STDERR_FILENO, UnsafeRawBufferPointer($0)) }
        if failure != nil { stderrFailed = true }
    }

    /// The status to exit with: `status`, or 1 when it is 0 but messages could not be written.
    static func exitStatus(_ status: Int32) -> Int32 { status == 0 && stderrFailed ? 1 : status }
}

/// A line on stderr.
func printError(_ s: String) {
    Terminal.writeError(s + "\n")
}

/// A warning line on stderr.
func warn(_ s: String) {
    printError("warning: " + s)
}

/// Peak resident memory of this process in MB (VmHWM), or nil where /proc is unavailable.
func peakResidentMemoryMB() -> Double? {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
    for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        let kb = line.split(separator: " ").compactMap { Double($0) }.first
        return kb.map { $0 / 1024 }
    }
    return nil
}

/// A progress bar on stderr, drawn only when stderr is a terminal.
final class ProgressLine {
    private let label: String
    private let total: Int?
    private let enabled: Bool
    private var lastDraw = Date.distantPast
    private let started = Date()

    init(label: String, total: Int?, enabled: Bool = true) {
        self.label = label
        self.total = total
        self.enabled = enabled && isatty(STDERR_FILENO) != 0
    }

    func update(_ done: Int) {
        guard enabled, Date().timeIntervalSince(lastDraw) > 0.2 else { return }
        lastDraw = Date()
        var line = "\r\(label): \(done)"
        if let total, total > 0 {
            let frac = min(1, Double(done) / Double(total))
            let width = 30
            let filled = Int(frac * Double(width))
            line += "/\(total) [" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "] " + String(format: "%3.0f%%", frac * 100)
        }
        let elapsed = Date().timeIntervalSince(started)
        if done > 0 && elapsed > 0 {
            let rate = Double(done) / elapsed
            line += String(format: "  %.1f frames/s", rate)
            if let total, total > done { line += String(format: ", about %.0f s left", Double(total - done) / rate) }
        }
        Terminal.writeError(line + "\u{1B}[K")
    }

    func finish() {
        guard enabled else { return }
        Terminal.writeError("\r\u{1B}[K")
    }
}
