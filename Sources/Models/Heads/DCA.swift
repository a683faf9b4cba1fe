extension HeadSpec {
    /// DCA — dynamic cross-attention (heads.md §5): the RJCA trunk, two stacked joint cross-attention layers,
    /// then per modality a 2-way softmax gate (T = 0.1) between the unattended (post-BiLSTM) and the attended
    /// features, ReLU; Joint BiLSTM 1024→512 on [gated video, gated audio]; regressors.
    public static let dca = HeadSpec(trunk: .recurrent, block: .joint(layers: 2), fusion: .dynamicGate)
}
