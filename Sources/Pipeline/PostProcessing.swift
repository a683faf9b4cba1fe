/// Per-frame post-processing of the fusion repositories: clip to [-1, 1], then a uniform moving average with zero
/// padding outside the video (scipy `uniform_filter1d(mode='constant')`): size 20 for valence (offsets -10…+9),
/// 50 for arousal (-25…+24). Computed in double precision.
public enum PostProcessing {
    public static let valenceWindow = 20
    public static let arousalWindow = 50

    public static func clip(_ x: Double) -> Double { min(1, max(-1, x)) }
}

/// The rows of one run, in order, each as soon as its value and its smoothing window are known.
///
/// Frames are added as they arrive; their values are set when the head batch holding their clips has run. Only
/// the frames whose rows are not out yet, and the 25 before them that their windows reach back to, are kept.
public struct RowSmoother: Sendable {
    public let smoothing: Bool
    /// Frames added so far, and rows emitted so far.
    public private(set) var frames = 0
    public private(set) var emitted = 0
    /// Index 0 of the arrays below is frame `first` (1-based).
    private var first = 1
    private var times: [Double] = [], faces: [Bool] = []
    private var valence: [Double] = [], arousal: [Double] = []

    public init(smoothing: Bool) { self.smoothing = smoothing }

    /// The next frame (its value comes later through `set`).
    public mutating func add(time: Double, face: Bool) {
        frames += 1
        times.append(time); faces.append(face); valence.append(0); arousal.append(0)
    }

    /// The raw (unclipped) output of the clip ending on frame f.
    public mutating func set(frame f: Int, valence v: Double, arousal a: Double) {
        valence[f - first] = v
        arousal[f - first] = a
    }

    /// Emits the rows whose windows lie inside the first `known` frames, all of whose values are set (every frame
    /// when `final`).
    public mutating func emitReady(known: Int, final: Bool, _ emit: (FrameOutput) throws -> Void) rethrows {
        let lookahead = smoothing ? (PostProcessing.arousalWindow - 1) / 2 : 0
        let limit = final ? known : known - lookahead
        while emitted < limit {
            let f = emitted + 1
            let (v, a) = smoothing
                ? (smoothed(valence, frame: f, known: known, size: PostProcessing.valenceWindow),
                   smoothed(arousal, frame: f, known: known, size: PostProcessing.arousalWindow))
                : (PostProcessing.clip(valence[f - first]), PostProcessing.clip(arousal[f - first]))
            try emit(FrameOutput(frame: f, time: times[f - first], face: faces[f - first], valence: v, arousal: a))
            emitted += 1
        }
        release()
    }

    /// Clip to [-1, 1], then the uniform moving average with zeros outside the video, at frame f.
    private func smoothed(_ raw: [Double], frame f: Int, known: Int, size: Int) -> Double {
        let lo = max(1, f - size / 2), hi = min(known, f + (size - 1) / 2)
        var s = 0.0
        if lo <= hi { for k in lo...hi { s += PostProcessing.clip(raw[k - first]) } }
        return s / Double(size)
    }

    /// Drops what no window will read again (in chunks, so that the arrays are not shifted on every row).
    private mutating func release() {
        let keepFrom = emitted + 1 - PostProcessing.arousalWindow / 2
        let n = keepFrom - first
        guard n >= 1024 else { return }
        times.removeFirst(n); faces.removeFirst(n); valence.removeFirst(n); arousal.removeFirst(n)
        first += n
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
