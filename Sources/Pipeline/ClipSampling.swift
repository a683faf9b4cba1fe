/// Which frames make the 8-frame clip that ends on frame f (1-based), oldest first.
///
/// The clip looks at the 32-frame window (f-31 … f]. With all 32 frames present it takes every 4th frame counted
/// back from f: f-28, f-24, …, f. Near the start of a video fewer frames exist (n = min(f, 32)), and the reference
/// rules of the fusion repositories apply (`docs/protocol.md`):
///   n ≥ 24: every 3rd frame back from f, the latest 8;  n ≥ 16: every 2nd, the latest 8;
///   n ≥ 8: the last 8;  n < 8: all of them, then the last one repeated up to 8.
public enum ClipSampling {
    public static let clipLength = 8
    public static let window = 32

    public static func frames(endingAt f: Int) -> [Int] {
        precondition(f >= 1, "frames are 1-based")
        let n = min(f, window)
        let available = Array((f - n + 1)...f)
        let step: Int
        switch n {
        case window: step = 4
        case 24..<window: step = 3
        case 16..<24: step = 2
        case 8..<16: step = 1
        default:
            return available + Array(repeating: f, count: clipLength - n)
        }
        let picked = stride(from: available.count - 1, through: 0, by: -step).map { available[$0] }
        return Array(picked.prefix(clipLength).reversed())
    }
}
