extension HeadSpec {
    /// IACA — inconsistency-aware cross-attention (heads.md §6; `heads_ref.IACAHead` with `DCNLayer(512, 512, 2)`):
    /// the RJCA trunk, two stacked joint cross-attention layers, the DCA gate as stage 1, `joint_fc` 1024→512 on
    /// [gated video, gated audio], stage 2 softmax over 3 of `av_gating_fc_layer(joint)`/T weighting
    /// [gated audio, gated video, joint], ReLU; the regressors read that directly (no Joint BiLSTM).
    public static let iaca = HeadSpec(trunk: .recurrent, block: .joint(layers: 2), fusion: .twoStageGate)
}
