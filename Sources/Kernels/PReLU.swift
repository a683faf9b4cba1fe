/// Parametric ReLU (He et al. 2015, PyTorch's `nn.PReLU(C)`): y = x for x ≥ 0, a_c · x otherwise, one slope per channel,
/// on channels-last rows (the channel vector of a position is contiguous), in place.
public enum PReLU {
    /// x[r, c] = x[r, c] ≥ 0 ? x[r, c] : slopes[c] · x[r, c] for r in 0..<rows, c in 0..<channels.
    public static func apply(_ x: UnsafeMutablePointer<Float>, rows: Int, channels: Int, slopes: UnsafePointer<Float>) {
        for r in 0..<rows {
            let row = x + r &* channels
            for c in 0..<channels {
                let v = row[c]
                row[c] = v >= 0 ? v : v * slopes[c]
            }
        }
    }
}
