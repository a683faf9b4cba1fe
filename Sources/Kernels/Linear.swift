/// A fully connected layer y = x·Wᵀ + b with PyTorch's (out, in) weight.
public final class Linear: @unchecked Sendable {
    /// (out, in)
    public let weight: Tensor
    /// (out)
    public let bias: Tensor?

    public init(weight: Tensor, bias: Tensor? = nil) {
        precondition(weight.rank == 2, "linear weight must be (out, in), got \(weight.shape)")
        if let bias { precondition(bias.count == weight.shape[0], "linear bias has \(bias.count) values for \(weight.shape[0]) outputs") }
        self.weight = weight; self.bias = bias
    }

    public var inFeatures: Int { weight.shape[1] }
    public var outFeatures: Int { weight.shape[0] }

    /// x (rows, in) → y (rows, out).
    public func forward(_ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>) {
        let o = outFeatures, i = inFeatures
        sgemm(transB: true, m: rows, n: o, k: i, a: x, lda: i, b: weight.pointer, ldb: i, c: y, ldc: o)
        if let bias {
            let b = bias.pointer
            for r in 0..<rows { let row = y + r &* o; for c in 0..<o { row[c] += b[c] } }
        }
    }
}
