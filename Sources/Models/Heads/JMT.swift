import Kernels

extension HeadSpec {
    /// JMT — joint multimodal transformer, official FC mode (heads.md §7; `Two_transformers(…, 1 head, 1 layer,
    /// "TRANSFORMER", "FC", 512)`).
    public static let jmt = HeadSpec(.jointMultimodalTransformer)
}

/// JMT (heads.md §7.2): inputs audio (B, L, 512) and visual (B, L, 512) = per-channel max of layer4.
///   v, a = L2-normalise(visual), L2-normalise(audio);  J = out_layer_pv([v, a]) (1024→512, visual first)
///   three post-norm encoders (1 layer, 1 head, FFN 512): v′ = visual_encoder(v), a′ = physiological_encoder(a),
///   J′ = joint_representation_encoder(J), each attending over time;
///   six cross-attentions (query ← key/value): v′←a′ (cross_attention_v), a′←v′ (_p), J′←v′ (_pv), v′←J′ (_v),
///   J′←a′ (_pv), a′←J′ (_p); concat 3072 → out_layer1 (→1024, no activation) → regressors 1024→128→1.
/// Output is (B, L); the official module's (L, B) in FC mode is a defect and is not copied.
/// `mm_transformer.final_encoder` (a 3072-d encoder) is in the state dict but never used: its tensors are
/// checked for presence and shape, not loaded.
public struct JMTHead: FusionHead {
    let visualEncoder: TransformerEncoder, audioEncoder: TransformerEncoder, jointEncoder: TransformerEncoder
    let crossVisual: MultiHeadAttention, crossAudio: MultiHeadAttention, crossJoint: MultiHeadAttention
    let jointProjection: Linear, output: Linear
    let valenceRegressor: Regressor, arousalRegressor: Regressor

    public init(_ p: ParameterScope, dim: Int = 512, heads: Int = 1, layers: Int = 1, feedForward: Int = 512) {
        let m = p.scope("mm_transformer")
        visualEncoder = TransformerEncoder(m.scope("visual_encoder"), dim: dim, heads: heads, hidden: feedForward, count: layers)
        audioEncoder = TransformerEncoder(m.scope("physiological_encoder"), dim: dim, heads: heads, hidden: feedForward, count: layers)
        jointEncoder = TransformerEncoder(m.scope("joint_representation_encoder"), dim: dim, heads: heads, hidden: feedForward,
                                          count: layers)
        _ = TransformerEncoder(m.scope("final_encoder").unused, dim: 6 * dim, heads: heads, hidden: feedForward, count: layers)
        crossVisual = MultiHeadAttention(m.scope("cross_attention_v"), dim: dim, heads: heads)
        crossAudio = MultiHeadAttention(m.scope("cross_attention_p"), dim: dim, heads: heads)
        crossJoint = MultiHeadAttention(m.scope("cross_attention_pv"), dim: dim, heads: heads)
        jointProjection = Linear(m.scope("out_layer_pv"), in: 2 * dim, out: dim)
        output = Linear(m.scope("out_layer1"), in: 6 * dim, out: 2 * dim)
        valenceRegressor = Regressor(p.scope("vregressor"), in: 2 * dim)
        arousalRegressor = Regressor(p.scope("aregressor"), in: 2 * dim)
    }

    public var spec: HeadSpec { .jmt }
    public var name: String { "jmt" }
    public var visualFeatures: Int { 512 }
    public var requiredSequenceLength: Int? { nil }

    public func forward(audio: Tensor, visual: Tensor, threads: Int) throws -> (valence: Tensor, arousal: Tensor) {
        try validateInputs(audio: audio, visual: visual)
        let v = Functional.l2Normalize(visual), a = Functional.l2Normalize(audio)
        let joint = jointProjection(Functional.concatLast(v, a), threads: threads)
        let ve = visualEncoder(v, threads: threads), ae = audioEncoder(a, threads: threads), je = jointEncoder(joint, threads: threads)
        let parts = [
            crossVisual(query: ve, key: ae, value: ae, threads: threads),
            crossAudio(query: ae, key: ve, value: ve, threads: threads),
            crossJoint(query: je, key: ve, value: ve, threads: threads),
            crossVisual(query: ve, key: je, value: je, threads: threads),
            crossJoint(query: je, key: ae, value: ae, threads: threads),
            crossAudio(query: ae, key: je, value: je, threads: threads),
        ]
        let concatenated = parts.dropFirst().reduce(parts[0]) { Functional.concatLast($0, $1) }
        let features = output(concatenated, threads: threads)
        return (valenceRegressor(features, threads: threads), arousalRegressor(features, threads: threads))
    }
}
