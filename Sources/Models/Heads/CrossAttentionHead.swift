import Kernels

/// The JCA-family head body shared by CA, JCA, RJCA, DCA, IACA, TCA and their compositions (`HeadSpec`):
/// trunk → cross-attention block (`coattn.`) → fusion stage → `vregressor`, `aregressor`.
public struct CrossAttentionHead: FusionHead {
    enum Fusion: Sendable {
        case jointLSTM(block: any CrossAttentionBlock, joint: BiLSTM)
        case dynamicGate(DynamicGate, joint: BiLSTM)
        case twoStageGate(InconsistencyAwareGate)
    }

    public let spec: HeadSpec
    let audioExtract: BiLSTM?, videoExtract: BiLSTM?
    let videoAttention: AudioGuidedAttention
    let fusion: Fusion
    let valenceRegressor: Regressor, arousalRegressor: Regressor
    let sequenceLength: Int?

    public init(_ spec: HeadSpec, _ p: ParameterScope, dim: Int = 512) {
        guard case let .crossAttention(trunk, blockKind, fusionKind) = spec.architecture else {
            preconditionFailure("CrossAttentionHead built for \(spec)")
        }
        self.spec = spec
        let c = p.scope("coattn")
        let block: any CrossAttentionBlock = switch blockKind {
        case .vanilla: CrossAttention(c, dim: dim)
        case .transformer: TransformerCrossAttention(c, dim: dim)
        case .joint(let n): JointCrossAttention(c, videoDim: dim, audioDim: dim, count: n)
        }
        sequenceLength = block.requiredSequenceLength
        if trunk == .recurrent {
            audioExtract = BiLSTM(p.scope("audio_extract"), input: dim, hidden: dim, layers: 2)
            videoExtract = BiLSTM(p.scope("video_extract"), input: dim, hidden: dim, layers: 2)
        } else {
            audioExtract = nil
            videoExtract = nil
        }
        videoAttention = AudioGuidedAttention(p.scope("video_attn").scope("attn"), audio: dim, hidden: dim)
        switch fusionKind {
        case .jointLSTM:
            fusion = .jointLSTM(block: block, joint: BiLSTM(p.scope("Joint"), input: 2 * dim, hidden: dim, layers: 2))
        case .dynamicGate:
            fusion = .dynamicGate(DynamicGate(p, block: block, dim: dim),
                                  joint: BiLSTM(p.scope("Joint"), input: 2 * dim, hidden: dim, layers: 2))
        case .twoStageGate:
            fusion = .twoStageGate(InconsistencyAwareGate(p, block: block, dim: dim))
        }
        valenceRegressor = Regressor(p.scope("vregressor"), in: dim)
        arousalRegressor = Regressor(p.scope("aregressor"), in: dim)
    }

    public var name: String { spec.name }
    public var visualFeatures: Int { spec.visualFeatures }
    public var requiredSequenceLength: Int? { sequenceLength }

    public func forward(audio: Tensor, visual: Tensor) throws -> (valence: Tensor, arousal: Tensor) {
        try validateInputs(audio: audio, visual: visual)
        var audio = Functional.l2Normalize(audio)
        let visual = Functional.l2Normalize(visual)
        if let audioExtract { audio = audioExtract(audio) }
        var video = videoAttention(visual: visual, audio: audio)
        if let videoExtract { video = videoExtract(video) }
        let features: Tensor
        switch fusion {
        case let .jointLSTM(block, joint):
            let attended = block(video: video, audio: audio)
            features = joint(Functional.concatLast(attended.video, attended.audio))
        case let .dynamicGate(gate, joint):
            let gated = gate(video: video, audio: audio)
            features = joint(Functional.concatLast(gated.video, gated.audio))
        case let .twoStageGate(gate):
            features = gate(video: video, audio: audio)
        }
        return (valenceRegressor(features), arousalRegressor(features))
    }
}
