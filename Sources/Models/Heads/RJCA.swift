extension HeadSpec {
    /// RJCA — the ICASSP'23 code (heads.md §4.1): L2-normalise; audio BiLSTM; audio-guided visual attention
    /// (with the BiLSTM audio); visual BiLSTM; one joint cross-attention layer as published (num_seq 1);
    /// Joint BiLSTM 1024→512; regressors.
    public static let rjca = HeadSpec(trunk: .recurrent, block: .joint(layers: 1), fusion: .jointLSTM)
}
