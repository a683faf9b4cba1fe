import Kernels

/// JMT's post-norm encoder layer (heads.md §7.2 step 3), attending over time:
///   x = layer_norm1(x + MHA(x, x, x));  x = layer_norm2(x + FFN(x)),  FFN = Linear d→hidden, ReLU, Linear hidden→d.
/// No dropout, no positional encoding, no mask. Names: `attention.*`, `feed_forward.{0,2}.*`, `layer_norm{1,2}.*`.
public struct TransformerEncoderLayer: Sendable {
    let attention: MultiHeadAttention
    let feedForward1: Linear, feedForward2: Linear
    let norm1: LayerNorm, norm2: LayerNorm

    public init(_ p: ParameterScope, dim: Int, heads: Int, hidden: Int) {
        attention = MultiHeadAttention(p.scope("attention"), dim: dim, heads: heads)
        feedForward1 = Linear(p.scope("feed_forward.0"), in: dim, out: hidden)
        feedForward2 = Linear(p.scope("feed_forward.2"), in: hidden, out: dim)
        norm1 = LayerNorm(p.scope("layer_norm1"), dim: dim)
        norm2 = LayerNorm(p.scope("layer_norm2"), dim: dim)
    }

    /// x (B, L, d) → (B, L, d).
    public func callAsFunction(_ x: Tensor, threads: Int) -> Tensor {
        let a = Functional.add(x, attention(query: x, key: x, value: x, threads: threads))
        norm1.normalizeInPlace(a)
        let f = feedForward1(a, threads: threads)
        Functional.reluInPlace(f)
        let y = Functional.add(a, feedForward2(f, threads: threads))
        norm2.normalizeInPlace(y)
        return y
    }
}

/// A stack of encoder layers, `layers.{i}.…`.
public struct TransformerEncoder: Sendable {
    let layers: [TransformerEncoderLayer]

    public init(_ p: ParameterScope, dim: Int, heads: Int, hidden: Int, count: Int) {
        layers = (0..<count).map { TransformerEncoderLayer(p.scope("layers.\($0)"), dim: dim, heads: heads, hidden: hidden) }
    }

    public func callAsFunction(_ x: Tensor, threads: Int) -> Tensor {
        layers.reduce(x) { $1($0, threads: threads) }
    }
}
