import ArgumentParser

/// `emopipe tensor …`: run one numerical stage on tensors from a safetensors file and write its outputs.
/// This is how parity with PyTorch is checked, and how a user debugging a conversion compares numbers.
struct TensorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tensor",
        abstract: "Run one stage (backbone, spectrogram, head) on tensors in a safetensors file.",
        subcommands: [
            TensorVisual.self,
            TensorAudio.self,
            // one entry per stage, each in its own file: TensorVisual, TensorAudio, TensorSpectrogram, TensorHead
            TensorHead.self,
            TensorSpectrogram.self,
        ]
    )
}
