/// Inference-time BatchNorm parameters, y = (x − mean) / √(var + eps) · γ + β, per channel.
/// emopipe never runs BatchNorm as a layer: it is folded into the preceding convolution at load time
/// (W' = W·γ/√(var+eps), b' = β − mean·γ/√(var+eps)).
public struct BatchNormParameters: Sendable {
    public let gamma: [Float], beta: [Float], mean: [Float], variance: [Float]
    public let eps: Float

    public init(gamma: [Float], beta: [Float], mean: [Float], variance: [Float], eps: Float = 1e-5) {
        precondition(gamma.count == beta.count && beta.count == mean.count && mean.count == variance.count,
                     "BatchNorm parameter lengths differ: \(gamma.count), \(beta.count), \(mean.count), \(variance.count)")
        self.gamma = gamma; self.beta = beta; self.mean = mean; self.variance = variance; self.eps = eps
    }

    public var channels: Int { gamma.count }

    /// Per-channel multiplier γ/√(var+eps) and offset β − mean·γ/√(var+eps), computed in double precision.
    public var scaleAndShift: (scale: [Float], shift: [Float]) {
        var scale = [Float](repeating: 0, count: channels), shift = scale
        for c in 0..<channels {
            let s = Double(gamma[c]) / (Double(variance[c]) + Double(eps)).squareRoot()
            scale[c] = Float(s)
            shift[c] = Float(Double(beta[c]) - Double(mean[c]) * s)
        }
        return (scale, shift)
    }
}
