import Foundation

/// A line on stderr.
func printError(_ s: String) {
    FileHandle.standardError.write(Data((s + "\n").utf8))
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
    private let enabled = isatty(STDERR_FILENO) != 0
    private var lastDraw = Date.distantPast
    private let started = Date()

    init(label: String, total: Int?) {
        self.label = label
        self.total = total
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
        line += "\u{1B}[K"
        FileHandle.standardError.write(Data(line.utf8))
    }

    func finish() {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }
}
