extension HeadSpec {
    /// TCA — transformer cross-attention on the RJCA trunk (heads.md §8; `heads_ref.PlainHead(TCABlock)`):
    /// each modality queries the other over time (4 heads, post-norm residual, feed-forward 512);
    /// Joint BiLSTM 1024→512; regressors.
    public static let tca = HeadSpec(trunk: .recurrent, block: .transformer, fusion: .jointLSTM)
}
