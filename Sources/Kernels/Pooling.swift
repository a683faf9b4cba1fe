/// Pooling on channels-last activations.
public enum Pooling {
    /// Max pooling over H and W (kernel k, stride s, padding p; padded taps never win), per frame and channel.
    /// `ceilMode`: PyTorch's `ceil_mode=True` — the output size rounds up, so a last, partial window at the bottom/right
    /// edge is pooled over the taps that exist (unless it would start in the right/bottom padding).
    public static func maxPool2D(_ x: UnsafePointer<Float>, _ sh: ActivationShape, kernel k: Int, stride s: Int, padding p: Int,
                                 ceilMode: Bool = false, into y: UnsafeMutablePointer<Float>) -> ActivationShape {
        precondition(k > 0 && s > 0 && p >= 0 && 2 * p < k + 1, "max pool kernel \(k) stride \(s) padding \(p)")
        let oh = pooledSize(sh.h, kernel: k, stride: s, padding: p, ceilMode: ceilMode)
        let ow = pooledSize(sh.w, kernel: k, stride: s, padding: p, ceilMode: ceilMode)
        let o = ActivationShape(n: sh.n, t: sh.t, h: oh, w: ow, c: sh.c)
        let c = sh.c
        for f in 0..<(sh.n &* sh.t) {
            let src = x + f &* sh.h &* sh.w &* c
            let dst = y + f &* oh &* ow &* c
            for i in 0..<oh {
                let h0 = max(0, i &* s &- p), h1 = min(sh.h, i &* s &- p &+ k)
                for j in 0..<ow {
                    let w0 = max(0, j &* s &- p), w1 = min(sh.w, j &* s &- p &+ k)
                    let d = dst + (i &* ow &+ j) &* c
                    d.initialize(repeating: -.infinity, count: c)
                    for hh in h0..<h1 {
                        for ww in w0..<w1 {
                            let q = src + (hh &* sh.w &+ ww) &* c
                            for ch in 0..<c { d[ch] = max(d[ch], q[ch]) }
                        }
                    }
                }
            }
        }
        return o
    }

    /// Output length of a pooling along one axis (ATen's `pooling_output_shape`, dilation 1).
    public static func pooledSize(_ n: Int, kernel k: Int, stride s: Int, padding p: Int, ceilMode: Bool) -> Int {
        var out = (n + 2 * p - k + (ceilMode ? s - 1 : 0)) / s + 1
        // With ceil_mode the last window must start inside the input or the left padding.
        if ceilMode && (out - 1) * s >= n + p { out -= 1 }
        return out
    }

    /// Mean over all positions of each sample: (N, T, H, W, C) → (N, C).
    public static func globalAverage(_ x: UnsafePointer<Float>, _ s: ActivationShape, into y: UnsafeMutablePointer<Float>) {
        let positions = s.positionsPerSample, c = s.c
        let inv = 1 / Float(positions)
        for n in 0..<s.n {
            let d = y + n &* c
            d.initialize(repeating: 0, count: c)
            let src = x + n &* positions &* c
            for q in 0..<positions {
                let row = src + q &* c
                for ch in 0..<c { d[ch] += row[ch] }
            }
            for ch in 0..<c { d[ch] *= inv }
        }
    }

    /// Maximum over all positions of each sample: (N, T, H, W, C) → (N, C).
    public static func globalMax(_ x: UnsafePointer<Float>, _ s: ActivationShape, into y: UnsafeMutablePointer<Float>) {
        let positions = s.positionsPerSample, c = s.c
        for n in 0..<s.n {
            let d = y + n &* c
            d.initialize(repeating: -.infinity, count: c)
            let src = x + n &* positions &* c
            for q in 0..<positions {
                let row = src + q &* c
                for ch in 0..<c { d[ch] = max(d[ch], row[ch]) }
            }
        }
    }
}
