extension HeadSpec {
    /// JCA — the T-BIOM code (heads.md §3.1): L2-normalise; audio-guided visual attention with the normalised
    /// raw audio (no BiLSTMs before the attention); one joint cross-attention layer (`DCNLayer`, num_seq 1);
    /// Joint BiLSTM 1024→512 on [video, audio]; regressors.
    public static let jca = HeadSpec(trunk: .plain, block: .joint(layers: 1), fusion: .jointLSTM)
}
