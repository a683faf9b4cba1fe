import Kernels

/// A cross-attention block of the JCA-family trunk: takes the (video, audio) features (B, L, d) after the
/// trunk and returns their attended versions, same shapes. State-dict prefix `coattn.`.
/// CA (`CrossAttention`), JCA/RJCA (`JointCrossAttention`) and TCA (`TransformerCrossAttention`) conform,
/// and the gates of `Gates.swift` wrap any of them.
public protocol CrossAttentionBlock: Sendable {
    func callAsFunction(video: Tensor, audio: Tensor, threads: Int) -> (video: Tensor, audio: Tensor)
    /// The sequence length the block is built for, when its weights fix it (16 for JCA's key layers).
    var requiredSequenceLength: Int? { get }
}
