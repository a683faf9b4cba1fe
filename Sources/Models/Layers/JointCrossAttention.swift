import Foundation
import Kernels

/// The joint cross-attention layer as coded (`DCNLayer`, heads.md §1.4), called with X1 = video, X2 = audio.
/// `count` stacked sub-layers with separate weights (`coattn.dcn_layers.{i}.…`); RJCA's "recursion" is this stack.
/// Per sub-layer, with J = [X1, X2] and D = d1 + d2:
///   Q = query_linear(J);  K_i = key{i}_linear along time (L→L) of X_iᵀ (B, d_i, L);  V_i = value{i}_linear(X_i)
///   S_i = tanh(K_i·Q / √D) (B, d_i, D);  H_i = ReLU(tanh(V_i·S_i)) (B, L, D)
///   X_i ← X_i + ReLU(linears.{i−1}.0(H_i))
/// No softmax anywhere; dropout is the identity in evaluation.
public struct JointCrossAttention: CrossAttentionBlock {
    struct SubLayer: Sendable {
        let query: Linear, key1: Linear, key2: Linear, value1: Linear, value2: Linear
        let out1: Linear, out2: Linear
    }

    let layers: [SubLayer]
    public let sequenceLength: Int
    public var requiredSequenceLength: Int? { sequenceLength }

    public init(_ p: ParameterScope, videoDim: Int = 512, audioDim: Int = 512, count: Int, sequenceLength: Int = 16) {
        self.sequenceLength = sequenceLength
        let d = videoDim + audioDim
        layers = (0..<count).map { i in
            let s = p.scope("dcn_layers.\(i)")
            let a = s.scope("dense_coattn")
            return SubLayer(query: Linear(a.scope("query_linear"), in: d, out: d),
                            key1: Linear(a.scope("key1_linear"), in: sequenceLength, out: sequenceLength),
                            key2: Linear(a.scope("key2_linear"), in: sequenceLength, out: sequenceLength),
                            value1: Linear(a.scope("value1_linear"), in: videoDim, out: videoDim),
                            value2: Linear(a.scope("value2_linear"), in: audioDim, out: audioDim),
                            out1: Linear(s.scope("linears.0.0"), in: d, out: videoDim),
                            out2: Linear(s.scope("linears.1.0"), in: d, out: audioDim))
        }
    }

    public func callAsFunction(video: Tensor, audio: Tensor, threads: Int) -> (video: Tensor, audio: Tensor) {
        var x1 = video, x2 = audio
        for layer in layers { (x1, x2) = Self.subLayer(layer, x1, x2, threads: threads) }
        return (x1, x2)
    }

    static func subLayer(_ s: SubLayer, _ x1: Tensor, _ x2: Tensor, threads: Int) -> (Tensor, Tensor) {
        let q = s.query(Functional.concatLast(x1, x2), threads: threads)          // (B, L, D)
        let h1 = attend(query: q, key: s.key1.alongTime(x1, threads: threads), value: s.value1(x1, threads: threads), threads: threads)
        let h2 = attend(query: q, key: s.key2.alongTime(x2, threads: threads), value: s.value2(x2, threads: threads), threads: threads)
        let u1 = s.out1(h1, threads: threads); Functional.reluInPlace(u1)
        let u2 = s.out2(h2, threads: threads); Functional.reluInPlace(u2)
        return (Functional.add(x1, u1), Functional.add(x2, u2))
    }

    /// ReLU(tanh(V·tanh(K·Q/√D))) per batch item: K (B, d, L), Q (B, L, D), V (B, L, d) → (B, L, D).
    static func attend(query q: Tensor, key k: Tensor, value v: Tensor, threads: Int) -> Tensor {
        let b = q.shape[0], l = q.shape[1], dd = q.shape[2], d = k.shape[1]
        let scores = Tensor(zeros: [d, dd])
        let out = Tensor(zeros: [b, l, dd])
        for i in 0..<b {
            sgemm(m: d, n: dd, k: l, alpha: 1 / Float(dd).squareRoot(), a: k.pointer + i &* d &* l, lda: l,
                  b: q.pointer + i &* l &* dd, ldb: dd, c: scores.pointer, ldc: dd, threads: threads)
            Functional.tanhInPlace(scores)
            sgemm(m: l, n: dd, k: d, a: v.pointer + i &* l &* d, lda: d, b: scores.pointer, ldb: dd,
                  c: out.pointer + i &* l &* dd, ldc: dd, threads: threads)
        }
        Functional.tanhInPlace(out)
        Functional.reluInPlace(out)
        return out
    }
}
