import Kernels

/// `nn.Linear(in, out)`: y = x·Wᵀ + b with W (out, in), applied to the last axis of any (…, in) tensor.
public struct Linear: Sendable {
    public let weight: Tensor
    public let bias: Tensor?
    public let inFeatures: Int
    public let outFeatures: Int

    public init(_ p: ParameterScope, in inFeatures: Int, out outFeatures: Int, bias: Bool = true) {
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        self.weight = p("weight", [outFeatures, inFeatures])
        self.bias = bias ? p("bias", [outFeatures]) : nil
    }

    public func callAsFunction(_ x: Tensor, threads: Int) -> Tensor {
        precondition(x.shape.last == inFeatures, "Linear \(inFeatures)→\(outFeatures) given \(x.shape)")
        let rows = x.count / inFeatures
        let y = Tensor(zeros: Array(x.shape.dropLast()) + [outFeatures])
        apply(rows: rows, x: x.pointer, ldx: inFeatures, y: y.pointer, ldy: outFeatures, threads: threads)
        return y
    }

    /// `rows` rows of x (stride ldx) into rows of y (stride ldy): the raw form, for strided inputs/outputs.
    public func apply(rows: Int, x: UnsafePointer<Float>, ldx: Int, y: UnsafeMutablePointer<Float>, ldy: Int, threads: Int) {
        Linear.apply(rows: rows, inFeatures: inFeatures, outFeatures: outFeatures,
                     weight: weight.pointer, bias: bias?.pointer, x: x, ldx: ldx, y: y, ldy: ldy, threads: threads)
    }

    /// y = x·Wᵀ + b for a weight given by pointer (row-major (out, in)), e.g. one block of a packed projection.
    static func apply(rows: Int, inFeatures: Int, outFeatures: Int, weight: UnsafePointer<Float>,
                      bias: UnsafePointer<Float>?, x: UnsafePointer<Float>, ldx: Int,
                      y: UnsafeMutablePointer<Float>, ldy: Int, threads: Int) {
        guard rows > 0 else { return }
        if let bias {
            for r in 0..<rows { (y + r &* ldy).update(from: bias, count: outFeatures) }
        }
        sgemm(transB: true, m: rows, n: outFeatures, k: inFeatures, a: x, lda: ldx, b: weight, ldb: inFeatures,
              beta: bias == nil ? 0 : 1, c: y, ldc: ldy, threads: threads)
    }

    /// The JCA-family "key" layers: a Linear L→L applied along the time axis of x (B, L, C),
    /// i.e. `linear(x.transpose(1, 2))`, giving (B, C, L). This is why those heads need exactly L = inFeatures.
    public func alongTime(_ x: Tensor, threads: Int) -> Tensor {
        precondition(x.rank == 3 && x.shape[1] == inFeatures, "Linear along time \(inFeatures)→\(outFeatures) given \(x.shape)")
        let b = x.shape[0], l = x.shape[1], c = x.shape[2]
        let y = Tensor(zeros: [b, c, outFeatures])
        for i in 0..<b {
            let yb = y.pointer + i &* c &* outFeatures
            if let bias {
                for r in 0..<c { (yb + r &* outFeatures).update(from: bias.pointer, count: outFeatures) }
            }
            // Y_b (C × out) = X_bᵀ (C × L) · Wᵀ (L × out)
            sgemm(transA: true, transB: true, m: c, n: outFeatures, k: l, a: x.pointer + i &* l &* c, lda: c,
                  b: weight.pointer, ldb: inFeatures, beta: bias == nil ? 0 : 1, c: yb, ldc: outFeatures, threads: threads)
        }
        return y
    }
}
