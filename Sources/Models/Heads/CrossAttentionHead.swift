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

    /// The head's modules, in the order the reference code registers them (= the order of its state dict and of
    /// `head_*.keys.txt`): the official JCA/RJCA/DCA modules declare `coattn` first, `heads_ref.py` declares the trunk
    /// first. Compositions follow `heads_ref.py`. Only the order of `expectedParameters` depends on it.
    enum Part: CaseIterable { case coattn, extractors, videoAttention, gates, joint, valenceRegressor, arousalRegressor }

    static func registrationOrder(_ spec: HeadSpec) -> [Part] {
        switch spec {
        case .jca: [.coattn, .videoAttention, .joint, .valenceRegressor, .arousalRegressor]
        case .rjca: [.coattn, .extractors, .videoAttention, .valenceRegressor, .joint, .arousalRegressor]
        case .dca: [.coattn, .extractors, .videoAttention, .valenceRegressor, .joint, .arousalRegressor, .gates]
        default: [.extractors, .videoAttention, .coattn, .gates, .joint, .valenceRegressor, .arousalRegressor]
        }
    }

    public init(_ spec: HeadSpec, _ p: ParameterScope, dim: Int = 512) {
        guard case let .crossAttention(trunk, blockKind, fusionKind) = spec.architecture else {
            preconditionFailure("CrossAttentionHead built for \(spec)")
        }
        self.spec = spec
        var block: (any CrossAttentionBlock)?
        var extractors: (audio: BiLSTM, video: BiLSTM)?
        var attention: AudioGuidedAttention?
        var dynamicGate: DynamicGate?, twoStageGate: InconsistencyAwareGate?
        var joint: BiLSTM?
        var valence: Regressor?, arousal: Regressor?
        for part in Self.registrationOrder(spec) {
            switch part {
            case .coattn:
                let c = p.scope("coattn")
                block = switch blockKind {
                case .vanilla: CrossAttention(c, dim: dim)
                case .transformer: TransformerCrossAttention(c, dim: dim)
                case .joint(let n): JointCrossAttention(c, videoDim: dim, audioDim: dim, count: n)
                }
            case .extractors:
                if trunk == .recurrent {
                    extractors = (BiLSTM(p.scope("audio_extract"), input: dim, hidden: dim, layers: 2),
                                  BiLSTM(p.scope("video_extract"), input: dim, hidden: dim, layers: 2))
                }
            case .videoAttention:
                attention = AudioGuidedAttention(p.scope("video_attn").scope("attn"), audio: dim, hidden: dim)
            case .gates:
                switch fusionKind {
                case .jointLSTM: break
                case .dynamicGate: dynamicGate = DynamicGate(p, block: block!, dim: dim)
                case .twoStageGate: twoStageGate = InconsistencyAwareGate(p, block: block!, dim: dim)
                }
            case .joint:
                if fusionKind != .twoStageGate { joint = BiLSTM(p.scope("Joint"), input: 2 * dim, hidden: dim, layers: 2) }
            case .valenceRegressor:
                valence = Regressor(p.scope("vregressor"), in: dim)
            case .arousalRegressor:
                arousal = Regressor(p.scope("aregressor"), in: dim)
            }
        }
        sequenceLength = block!.requiredSequenceLength
        audioExtract = extractors?.audio
        videoExtract = extractors?.video
        videoAttention = attention!
        switch fusionKind {
        case .jointLSTM: fusion = .jointLSTM(block: block!, joint: joint!)
        case .dynamicGate: fusion = .dynamicGate(dynamicGate!, joint: joint!)
        case .twoStageGate: fusion = .twoStageGate(twoStageGate!)
        }
        valenceRegressor = valence!
        arousalRegressor = arousal!
    }

    public var name: String { spec.name }
    public var visualFeatures: Int { spec.visualFeatures }
    public var requiredSequenceLength: Int? { sequenceLength }

    public func forward(audio: Tensor, visual: Tensor, threads: Int) throws -> (valence: Tensor, arousal: Tensor) {
        try validateInputs(audio: audio, visual: visual)
        var audio = Functional.l2Normalize(audio)
        let visual = Functional.l2Normalize(visual)
        if let audioExtract { audio = audioExtract(audio, threads: threads) }
        var video = videoAttention(visual: visual, audio: audio, threads: threads)
        if let videoExtract { video = videoExtract(video, threads: threads) }
        let features: Tensor
        switch fusion {
        case let .jointLSTM(block, joint):
            let attended = block(video: video, audio: audio, threads: threads)
            features = joint(Functional.concatLast(attended.video, attended.audio), threads: threads)
        case let .dynamicGate(gate, joint):
            let gated = gate(video: video, audio: audio, threads: threads)
            features = joint(Functional.concatLast(gated.video, gated.audio), threads: threads)
        case let .twoStageGate(gate):
            features = gate(video: video, audio: audio, threads: threads)
        }
        return (valenceRegressor(features, threads: threads), arousalRegressor(features, threads: threads))
    }
}
