import Kernels

/// TCA block (`heads_ref.TCABlock`, heads.md §8): each modality queries the other over time, post-norm,
/// 4 heads, feed-forward 512:
///   v = v_norm1(V + v_from_a(V, A, A));  a = a_norm1(A + a_from_v(A, V, V))   (both from the block's inputs)
///   v = v_norm2(v + v_ff(v));            a = a_norm2(a + a_ff(a)),  ff = Linear d→ff, ReLU, Linear ff→d.
public struct TransformerCrossAttention: CrossAttentionBlock {
    let videoFromAudio: MultiHeadAttention, audioFromVideo: MultiHeadAttention
    let videoNorm1: LayerNorm, audioNorm1: LayerNorm
    let videoFF1: Linear, videoFF2: Linear, audioFF1: Linear, audioFF2: Linear
    let videoNorm2: LayerNorm, audioNorm2: LayerNorm
    public var requiredSequenceLength: Int? { nil }

    public init(_ p: ParameterScope, dim: Int = 512, heads: Int = 4, feedForward: Int = 512) {
        videoFromAudio = MultiHeadAttention(p.scope("v_from_a"), dim: dim, heads: heads)
        audioFromVideo = MultiHeadAttention(p.scope("a_from_v"), dim: dim, heads: heads)
        videoNorm1 = LayerNorm(p.scope("v_norm1"), dim: dim)
        audioNorm1 = LayerNorm(p.scope("a_norm1"), dim: dim)
        videoFF1 = Linear(p.scope("v_ff.0"), in: dim, out: feedForward)
        videoFF2 = Linear(p.scope("v_ff.2"), in: feedForward, out: dim)
        audioFF1 = Linear(p.scope("a_ff.0"), in: dim, out: feedForward)
        audioFF2 = Linear(p.scope("a_ff.2"), in: feedForward, out: dim)
        videoNorm2 = LayerNorm(p.scope("v_norm2"), dim: dim)
        audioNorm2 = LayerNorm(p.scope("a_norm2"), dim: dim)
    }

    public func callAsFunction(video: Tensor, audio: Tensor, threads: Int) -> (video: Tensor, audio: Tensor) {
        let v = Functional.add(video, videoFromAudio(query: video, key: audio, value: audio, threads: threads))
        videoNorm1.normalizeInPlace(v)
        let a = Functional.add(audio, audioFromVideo(query: audio, key: video, value: video, threads: threads))
        audioNorm1.normalizeInPlace(a)
        return (Self.feedForward(v, videoFF1, videoFF2, videoNorm2, threads: threads),
                Self.feedForward(a, audioFF1, audioFF2, audioNorm2, threads: threads))
    }

    static func feedForward(_ x: Tensor, _ f1: Linear, _ f2: Linear, _ norm: LayerNorm, threads: Int) -> Tensor {
        let h = f1(x, threads: threads)
        Functional.reluInPlace(h)
        let y = Functional.add(x, f2(h, threads: threads))
        norm.normalizeInPlace(y)
        return y
    }
}
