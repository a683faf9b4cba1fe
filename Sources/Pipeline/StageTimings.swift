import Foundation

/// Wall-clock time spent per pipeline stage.
public final class StageTimings: @unchecked Sendable {
    public enum Stage: String, CaseIterable, Sendable {
        case decode, face, audio, visualBackbone = "visual backbone", audioBackbone = "audio backbone", head, output
    }

    private let lock = NSLock()
    private var seconds: [Stage: Double] = [:]

    public init() {}

    public func add(_ stage: Stage, _ start: DispatchTime, _ end: DispatchTime) {
        add(stage, seconds: Double(end.uptimeNanoseconds &- start.uptimeNanoseconds) / 1e9)
    }

    public func add(_ stage: Stage, seconds s: Double) {
        lock.lock(); seconds[stage, default: 0] += s; lock.unlock()
    }

    /// Runs `body`, charging its time to `stage`.
    public func measure<T>(_ stage: Stage, _ body: () throws -> T) rethrows -> T {
        let t0 = DispatchTime.now()
        defer { add(stage, t0, DispatchTime.now()) }
        return try body()
    }

    public subscript(stage: Stage) -> Double {
        lock.lock(); defer { lock.unlock() }
        return seconds[stage, default: 0]
    }

    public var total: Double { Stage.allCases.reduce(0) { $0 + self[$1] } }

    /// "decode 1.2 s (3%), face …" in stage order.
    public var summary: String {
        let t = max(total, 1e-9)
        return Stage.allCases.map { "\($0.rawValue) " + String(format: "%.2f s (%.1f%%)", self[$0], 100 * self[$0] / t) }
            .joined(separator: ", ")
    }
}
