import Kernels

/// `nn.LayerNorm(d)` over the last axis: (x − mean)/√(var + eps)·γ + β, biased variance, eps 1e-5.
public struct LayerNorm: Sendable {
    let weight: Tensor, bias: Tensor
    public let dim: Int
    public let eps: Float

    public init(_ p: ParameterScope, dim: Int, eps: Float = 1e-5) {
        self.dim = dim
        self.eps = eps
        weight = p("weight", [dim])
        bias = p("bias", [dim])
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        let y = x.copy()
        normalizeInPlace(y)
        return y
    }

    public func normalizeInPlace(_ x: Tensor) {
        precondition(x.shape.last == dim, "LayerNorm(\(dim)) given \(x.shape)")
        let w = weight.pointer, b = bias.pointer
        for r in 0..<(x.count / dim) {
            let row = x.pointer + r &* dim
            var mean: Float = 0
            for j in 0..<dim { mean += row[j] }
            mean /= Float(dim)
            var variance: Float = 0
            for j in 0..<dim { let c = row[j] - mean; variance += c * c }
            variance /= Float(dim)
            let inv = 1 / (variance + eps).squareRoot()
            for j in 0..<dim { row[j] = (row[j] - mean) * inv * w[j] + b[j] }
        }
    }
}
