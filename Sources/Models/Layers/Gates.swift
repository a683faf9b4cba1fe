import Kernels

/// DCA's one-stage gate (heads.md §5.1 step 5; IACA paper eqs 5–8), wrapping any cross-attention block.
/// Per modality m: g = softmax(m_gating_fc_layer(att_m) / T) over 2 outputs per time step (Linear d→2 with bias);
/// gated_m = ReLU(g₀·m + g₁·att_m) — column 0 weighs the unattended input, column 1 the attended one,
/// each a per-time-step scalar shared by all channels. T = 0.1.
/// Names: `coattn.*` (the block), `audio_gating_fc_layer.*`, `video_gating_fc_layer.*`.
public struct DynamicGate: Sendable {
    public let block: any CrossAttentionBlock
    let audioGate: Linear, videoGate: Linear
    public let temperature: Float

    public init(_ p: ParameterScope, block: any CrossAttentionBlock, dim: Int = 512, temperature: Float = 0.1) {
        self.block = block
        self.temperature = temperature
        audioGate = Linear(p.scope("audio_gating_fc_layer"), in: dim, out: 2)
        videoGate = Linear(p.scope("video_gating_fc_layer"), in: dim, out: 2)
    }

    /// (video, audio) (B, L, d) → gated (video, audio), same shapes.
    public func callAsFunction(video: Tensor, audio: Tensor, threads: Int) -> (video: Tensor, audio: Tensor) {
        let attended = block(video: video, audio: audio, threads: threads)
        return (Self.gate(videoGate, temperature, plain: video, attended: attended.video, threads: threads),
                Self.gate(audioGate, temperature, plain: audio, attended: attended.audio, threads: threads))
    }

    /// ReLU(Σ_k softmax(fc(from)/T)_k · inputs_k) with per-time-step weights broadcast over the channels.
    static func mix(_ fc: Linear, _ temperature: Float, from: Tensor, _ inputs: [Tensor], threads: Int) -> Tensor {
        let w = fc(from, threads: threads)
        Functional.softmaxLastInPlace(w, scale: 1 / temperature)
        let d = inputs[0].shape.last!, k = inputs.count
        let out = Tensor(zeros: inputs[0].shape)
        let o = out.pointer, wp = w.pointer
        for r in 0..<(out.count / d) {
            let row = o + r &* d
            for (j, x) in inputs.enumerated() {
                let a = wp[r &* k &+ j], src = x.pointer + r &* d
                for c in 0..<d { row[c] += a * src[c] }
            }
            for c in 0..<d { row[c] = max(row[c], 0) }
        }
        return out
    }

    static func gate(_ fc: Linear, _ temperature: Float, plain: Tensor, attended: Tensor, threads: Int) -> Tensor {
        mix(fc, temperature, from: attended, [plain, attended], threads: threads)
    }
}

/// IACA's two-stage gate (heads.md §6, `heads_ref.IACAHead`), wrapping any cross-attention block:
/// stage 1 as `DynamicGate`; joint = joint_fc([gated_v, gated_a]) (Linear 2d→d, no activation);
/// stage 2: g = softmax(av_gating_fc_layer(joint) / T) over 3, fused = ReLU(g₀·gated_a + g₁·gated_v + g₂·joint).
/// The regressors read `fused` directly (no joint BiLSTM). T = 0.1.
/// Names: the stage-1 names plus `joint_fc.*`, `av_gating_fc_layer.*`.
public struct InconsistencyAwareGate: Sendable {
    public let stage1: DynamicGate
    let jointFC: Linear, avGate: Linear

    public init(_ p: ParameterScope, block: any CrossAttentionBlock, dim: Int = 512, temperature: Float = 0.1) {
        stage1 = DynamicGate(p, block: block, dim: dim, temperature: temperature)
        jointFC = Linear(p.scope("joint_fc"), in: 2 * dim, out: dim)
        avGate = Linear(p.scope("av_gating_fc_layer"), in: dim, out: 3)
    }

    /// (video, audio) (B, L, d) → fused (B, L, d).
    public func callAsFunction(video: Tensor, audio: Tensor, threads: Int) -> Tensor {
        let gated = stage1(video: video, audio: audio, threads: threads)
        let joint = jointFC(Functional.concatLast(gated.video, gated.audio), threads: threads)
        return DynamicGate.mix(avGate, stage1.temperature, from: joint, [gated.audio, gated.video, joint], threads: threads)
    }
}
