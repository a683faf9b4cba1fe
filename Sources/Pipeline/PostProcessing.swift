/// Per-frame post-processing of the fusion repositories: clip to [-1, 1], then a uniform moving average with zero
/// padding outside the video (scipy `uniform_filter1d(mode='constant')`): size 20 for valence (offsets -10…+9),
/// 50 for arousal (-25…+24). Computed in double precision.
public enum PostProcessing {
    public static let valenceWindow = 20
    public static let arousalWindow = 50

    public static func clip(_ x: Double) -> Double { min(1, max(-1, x)) }

    /// Uniform moving average of `x` with window `size`, zeros outside, window offsets -size/2 … (size-1)/2.
    public static func movingAverage(_ x: [Double], size: Int) -> [Double] {
        precondition(size >= 1)
        let before = size / 2, after = (size - 1) / 2
        var prefix = [Double](repeating: 0, count: x.count + 1)
        for i in 0..<x.count { prefix[i + 1] = prefix[i] + x[i] }
        return (0..<x.count).map { i in
            let lo = max(0, i - before), hi = min(x.count - 1, i + after)
            return (prefix[hi + 1] - prefix[lo]) / Double(size)
        }
    }

    public static func smooth(_ x: [Double], size: Int) -> [Double] {
        movingAverage(x.map(clip), size: size)
    }
}

/// Lin's concordance correlation coefficient with population moments.
public func concordanceCorrelation(_ x: [Double], _ y: [Double]) -> Double {
    precondition(x.count == y.count && !x.isEmpty, "CCC needs two equally long, non-empty series")
    let n = Double(x.count)
    let mx = x.reduce(0, +) / n, my = y.reduce(0, +) / n
    var vx = 0.0, vy = 0.0, cov = 0.0
    for i in 0..<x.count {
        let dx = x[i] - mx, dy = y[i] - my
        vx += dx * dx; vy += dy * dy; cov += dx * dy
    }
    vx /= n; vy /= n; cov /= n
    let denom = vx + vy + (mx - my) * (mx - my)
    return denom == 0 ? 0 : 2 * cov / denom
}
