import ArgumentParser
import Audio
import Kernels
import Pipeline

/// `emopipe tensor spectrogram`: the audio front end on a waveform tensor, for parity checks against torchaudio.
struct TensorSpectrogram: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spectrogram",
        abstract: "Normalized 64-band log-mel spectrogram of a 44.1 kHz waveform (tensor `wave` → `spec`).",
        discussion: """
        Input: a safetensors file with `wave`, shape (N) or (1, N), mono at 44100 Hz. A waveform shorter than \
        \(AudioWindow.minimumLength) samples is left-padded with zeros to that length first, as the reference does.
        Output: `spec`, shape (1, 64, T) with T = 1 + floor(N / 441), written atomically. See docs/audio.md.
        """
    )

    @Option(name: .long, help: "Safetensors file holding `wave`.")
    var input: String

    @Option(name: .long, help: "Safetensors file to write `spec` to.")
    var output: String

    func run() throws {
        let file = try SafeTensorsFile(path: input)
        guard file.contains("wave") else {
            throw PipelineError(input, "no tensor `wave` (found: \(file.names.joined(separator: ", ")))", remedy: "name the waveform tensor `wave`")
        }
        let wave = try file.tensor("wave")
        guard wave.rank == 1 || (wave.rank == 2 && wave.shape[0] == 1) else {
            throw PipelineError(input, "`wave` has shape \(Tensor.shapeString(wave.shape))", remedy: "give a mono waveform of shape (N) or (1, N)")
        }
        guard (0..<wave.count).allSatisfy({ wave[$0].isFinite }) else {
            throw PipelineError(input, "`wave` contains NaN or infinite samples", remedy: "give finite samples")
        }
        let samples = MelSpectrogram.leftPadded(wave.array)
        let spec = try MelSpectrogram()(samples)
        var writer = SafeTensorsWriter(metadata: ["component": "spectrogram", "samples": String(samples.count)])
        writer.add("spec", spec)
        try writeOutput(try writer.serialized(), to: output, protecting: [input])
    }
}
