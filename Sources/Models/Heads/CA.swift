extension HeadSpec {
    /// CA — vanilla cross-attention on the RJCA trunk (heads.md §2.4; `heads_ref.PlainHead(CABlock)`):
    /// L2-normalise; audio BiLSTM; audio-guided visual attention; visual BiLSTM;
    /// Z = A·W·Vᵀ (`coattn.corr_weights` 512×512), column softmax, tanh(X + X̂); Joint BiLSTM 1024→512; regressors.
    public static let ca = HeadSpec(trunk: .recurrent, block: .vanilla, fusion: .jointLSTM)
}
