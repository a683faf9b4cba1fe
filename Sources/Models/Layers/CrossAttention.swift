import Kernels

/// Vanilla cross-attention (CA; IACA paper eqs 1–4 in the batch-first form of heads.md §2.2 and `heads_ref.CABlock`):
///   Z = A·W·Vᵀ (B, L_a, L_v), W = `corr_weights` (d, d), no 1/√d scaling;
///   Â = softmax(Z over the audio axis)ᵀ·A, i.e. Â[j] = Σ_i softmax_i(Z[:, j])·A[i];
///   V̂ = softmax(Zᵀ over the video axis)ᵀ·V, i.e. V̂[i] = Σ_j softmax_j(Z[i, :])·V[j];
///   outputs tanh(V + V̂), tanh(A + Â).
public struct CrossAttention: CrossAttentionBlock {
    let correlation: Tensor
    public let dim: Int
    public var requiredSequenceLength: Int? { nil }

    public init(_ p: ParameterScope, dim: Int = 512) {
        self.dim = dim
        correlation = p("corr_weights", [dim, dim])
    }

    public func callAsFunction(video: Tensor, audio: Tensor, threads: Int) -> (video: Tensor, audio: Tensor) {
        precondition(video.shape == audio.shape && video.shape[2] == dim, "CA given \(video.shape), \(audio.shape)")
        let b = video.shape[0], l = video.shape[1], d = dim
        let aw = Tensor(zeros: [l, d])
        let z = Tensor(zeros: [l, l]), zc = Tensor(zeros: [l, l])
        let vOut = video.copy(), aOut = audio.copy()
        for i in 0..<b {
            let a = audio.pointer + i &* l &* d, v = video.pointer + i &* l &* d
            sgemm(m: l, n: d, k: d, a: a, lda: d, b: correlation.pointer, ldb: d, c: aw.pointer, ldc: d, threads: threads)
            sgemm(transB: true, m: l, n: l, k: d, a: aw.pointer, lda: d, b: v, ldb: d, c: z.pointer, ldc: l, threads: threads)
            // zc = Zᵀ; softmax of its rows = softmax of Z's columns (over the audio index).
            for r in 0..<l { for c in 0..<l { zc.pointer[c &* l &+ r] = z.pointer[r &* l &+ c] } }
            Functional.softmaxLastInPlace(z)   // rows: weights over video times for each audio time
            Functional.softmaxLastInPlace(zc)  // rows: weights over audio times for each video time
            // V̂ = P_row·V and Â = P_colᵀ·A, accumulated onto the copies (residual), then tanh.
            sgemm(m: l, n: d, k: l, a: z.pointer, lda: l, b: v, ldb: d, beta: 1, c: vOut.pointer + i &* l &* d, ldc: d, threads: threads)
            sgemm(m: l, n: d, k: l, a: zc.pointer, lda: l, b: a, ldb: d, beta: 1, c: aOut.pointer + i &* l &* d, ldc: d, threads: threads)
        }
        Functional.tanhInPlace(vOut)
        Functional.tanhInPlace(aOut)
        return (vOut, aOut)
    }
}
