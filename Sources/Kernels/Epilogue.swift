/// The pass that finishes a convolution's GEMM output in place: add the (BatchNorm-folded) bias,
/// optionally add a residual of the same layout, optionally clamp at zero — one read and one write per element.
public enum Epilogue {
    /// out[r, c] = act(out[r, c] + bias[c] (+ residual[r, c])) for r in 0..<rows, c in 0..<cols;
    /// rows are `ld` floats apart in both `out` and `residual`.
    @inline(__always)
    public static func apply(_ out: UnsafeMutablePointer<Float>, rows: Int, cols: Int, ld: Int,
                             bias: UnsafePointer<Float>, residual: UnsafePointer<Float>?, relu: Bool) {
        if let residual {
            if relu { run(out, rows, cols, ld, bias, residual, true, true) } else { run(out, rows, cols, ld, bias, residual, true, false) }
        } else {
            if relu { run(out, rows, cols, ld, bias, bias, false, true) } else { run(out, rows, cols, ld, bias, bias, false, false) }
        }
    }

    @inline(__always)
    private static func run(_ out: UnsafeMutablePointer<Float>, _ rows: Int, _ cols: Int, _ ld: Int,
                            _ bias: UnsafePointer<Float>, _ residual: UnsafePointer<Float>, _ hasResidual: Bool, _ relu: Bool) {
        for r in 0..<rows {
            let o = out + r &* ld
            if hasResidual {
                let res = residual + r &* ld
                if relu { for c in 0..<cols { o[c] = max(o[c] + bias[c] + res[c], 0) } }
                else { for c in 0..<cols { o[c] = o[c] + bias[c] + res[c] } }
            } else {
                if relu { for c in 0..<cols { o[c] = max(o[c] + bias[c], 0) } }
                else { for c in 0..<cols { o[c] = o[c] + bias[c] } }
            }
        }
    }
}
