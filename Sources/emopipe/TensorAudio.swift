import ArgumentParser
import Foundation
import Kernels
import Models
import Pipeline

/// `emopipe tensor audio`: ResNet-18 on normalized log-mel spectrograms (N, 1, 64, T) → `features` (N, 512).
struct TensorAudio: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audio",
        abstract: "ResNet-18 audio backbone: `input` (N,1,64,T) → `features` (N,512).")

    @OptionGroup var options: BackboneOptions

    func run() throws {
        let x = try options.readInput()
        guard x.rank == 4, x.shape[1] == 1, x.shape[0] >= 1, x.shape[2] >= 1, x.shape[3] >= 1 else {
            throw PipelineError(options.input, "`input` must be (N, 1, 64, T) spectrograms, got \(Tensor.shapeString(x.shape))", remedy: "write the spectrograms as (N, 1, 64, T)")
        }
        let model = try TSAVBackbones.loadAudio(options.weights)
        let workspace = ResNet18.Workspace()
        let n = x.shape[0]
        let features = Tensor(zeros: [n, ResNet18.features])
        var start = 0
        while start < n {
            let count = min(options.batch, n - start)
            let out = try model.forward(x.slice(first: start, count: count), workspace: workspace, threads: options.threads.threads)
            (features.pointer + start * ResNet18.features).update(from: out.pointer, count: out.count)
            start += count
        }
        var w = SafeTensorsWriter(metadata: ["stage": "audio_backbone", "weights": options.weights])
        w.add("features", features)
        try options.write(w)
    }
}
