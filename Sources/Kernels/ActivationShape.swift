/// The shape of an activation in emopipe's internal channels-last layout: (N, T, H, W, C), row-major.
///
/// The backbones keep activations channels-last so that every convolution is one GEMM of
/// (output positions × K) · (K × C_out), with the channel vector of one position contiguous.
/// 2-D activations (ResNet-18 audio) are the same with T = 1.
public struct ActivationShape: Sendable, Equatable, CustomStringConvertible {
    public var n: Int, t: Int, h: Int, w: Int, c: Int

    public init(n: Int, t: Int = 1, h: Int, w: Int, c: Int) {
        self.n = n; self.t = t; self.h = h; self.w = w; self.c = c
    }

    /// Positions in one sample (T·H·W).
    public var positionsPerSample: Int { t * h * w }
    /// Positions in the batch (N·T·H·W): the GEMM row count.
    public var positions: Int { n * t * h * w }
    public var count: Int { positions * c }

    public var description: String { "(N \(n), T \(t), H \(h), W \(w), C \(c))" }
}

/// Layout changes between PyTorch's channel-major layout (N, C, S) and channels-last (N, S, C),
/// where S is the flattened spatial/temporal extent.
public enum Layout {
    /// (N, C, S) → (N, S, C).
    public static func toChannelsLast(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, n: Int, c: Int, spatial s: Int) {
        transposeBatched(src, dst, n: n, rows: c, cols: s)
    }

    /// (N, S, C) → (N, C, S). `sampleStride`: floats between consecutive samples in `dst` (default C·S, packed), so a
    /// caller can write each sample straight into a row of a larger matrix.
    public static func toChannelsFirst(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, n: Int, c: Int, spatial s: Int,
                                       sampleStride: Int? = nil) {
        transposeBatched(src, dst, n: n, rows: s, cols: c, dstStride: sampleStride)
    }

    /// For each of n matrices, dst(cols × rows) = src(rows × cols)ᵀ, in 32×32 blocks; the matrices of `dst` are
    /// `dstStride` floats apart (default rows·cols).
    static func transposeBatched(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, n: Int, rows: Int, cols: Int,
                                 dstStride: Int? = nil) {
        let block = 32
        let size = rows &* cols
        let stride = dstStride ?? size
        precondition(stride >= size, "each matrix needs rows·cols floats")
        for b in 0..<n {
            let s = src + b &* size, d = dst + b &* stride
            var r0 = 0
            while r0 < rows {
                let r1 = min(rows, r0 &+ block)
                var c0 = 0
                while c0 < cols {
                    let c1 = min(cols, c0 &+ block)
                    for r in r0..<r1 {
                        for c in c0..<c1 { d[c &* rows &+ r] = s[r &* cols &+ c] }
                    }
                    c0 = c1
                }
                r0 = r1
            }
        }
    }
}
