import Kernels

/// `nn.MultiheadAttention(d, heads)` without masks or dropout, batch-first here:
/// packed `in_proj_weight` (3d, d) with rows q | k | v and `in_proj_bias` (3d), then `out_proj` (d, d).
/// Per head of size d/h: softmax(Q·Kᵀ/√(d/h))·V; heads concatenated; out_proj.
public struct MultiHeadAttention: Sendable {
    let inProjWeight: Tensor, inProjBias: Tensor
    let outProj: Linear
    public let dim: Int, heads: Int

    public init(_ p: ParameterScope, dim: Int, heads: Int) {
        precondition(dim % heads == 0)
        self.dim = dim
        self.heads = heads
        inProjWeight = p("in_proj_weight", [3 * dim, dim])
        inProjBias = p("in_proj_bias", [3 * dim])
        outProj = Linear(p.scope("out_proj"), in: dim, out: dim)
    }

    /// Block `part` (0 = q, 1 = k, 2 = v) of the packed projection applied to x (B, L, d).
    func project(_ x: Tensor, part: Int, threads: Int) -> Tensor {
        let rows = x.count / dim
        let y = Tensor(zeros: Array(x.shape.dropLast()) + [dim])
        Linear.apply(rows: rows, inFeatures: dim, outFeatures: dim, weight: inProjWeight.pointer + part &* dim &* dim,
                     bias: inProjBias.pointer + part &* dim, x: x.pointer, ldx: dim, y: y.pointer, ldy: dim, threads: threads)
        return y
    }

    /// query (B, Lq, d) attends to key/value (B, Lk, d) → (B, Lq, d).
    public func callAsFunction(query: Tensor, key: Tensor, value: Tensor, threads: Int) -> Tensor {
        precondition(query.rank == 3 && query.shape[2] == dim && key.shape == value.shape && key.shape[0] == query.shape[0]
                     && key.shape[2] == dim, "MHA given \(query.shape), \(key.shape), \(value.shape)")
        let b = query.shape[0], lq = query.shape[1], lk = key.shape[1]
        let q = project(query, part: 0, threads: threads), k = project(key, part: 1, threads: threads)
        let v = project(value, part: 2, threads: threads)
        let hd = dim / heads
        let scale = 1 / Float(hd).squareRoot()
        let scores = Tensor(zeros: [lq, lk])
        let context = Tensor(zeros: [b, lq, dim])
        for i in 0..<b {
            for h in 0..<heads {
                let qOffset: Int = i &* lq &* dim &+ h &* hd
                let kOffset: Int = i &* lk &* dim &+ h &* hd
                let qh = q.pointer + qOffset, kh = k.pointer + kOffset, vh = v.pointer + kOffset
                sgemm(transB: true, m: lq, n: lk, k: hd, alpha: scale, a: qh, lda: dim, b: kh, ldb: dim,
                      c: scores.pointer, ldc: lk, threads: threads)
                Functional.softmaxLastInPlace(scores)
                sgemm(m: lq, n: hd, k: lk, a: scores.pointer, lda: lk, b: vh, ldb: dim,
                      c: context.pointer + qOffset, ldc: dim, threads: threads)
            }
        }
        return outProj(context, threads: threads)
    }
}
