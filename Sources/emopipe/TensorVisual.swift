import ArgumentParser
import Foundation
import Kernels
import Models
import Pipeline

/// Options shared by the backbone stages of `emopipe tensor`.
struct BackboneOptions: ParsableArguments {
    @Option(help: "TSAV weights: one safetensors file keyed by the official checkpoint names.")
    var weights: String

    @Option(help: "Input safetensors file holding a tensor named `input`.")
    var input: String

    @Option(help: "Output safetensors file (written atomically).")
    var output: String

    @OptionGroup var threads: ThreadsOption

    @Option(parsing: .unconditional, help: "Samples per forward pass (bounds memory; results do not depend on it).")
    var batch: Int = 4

    func validate() throws {
        guard batch >= 1 else { throw ValidationError("--batch must be at least 1") }
    }

    func readInput() throws -> Tensor {
        let file = try SafeTensorsFile(path: input)
        guard file.contains("input") else {
            throw PipelineError(input, "no tensor named `input` (found: \(file.names.joined(separator: ", ")))", remedy: "name the input tensor `input`")
        }
        return try file.tensor("input")
    }

    /// Writes the stage's output tensors.
    func write(_ writer: SafeTensorsWriter) throws {
        try writeOutput(try writer.serialized(), to: output, protecting: [input, weights])
    }
}

/// `emopipe tensor visual`: R(2+1)D-18 on normalized clips (N, 3, T, H, W) → `layer4` (N, 512·T/8·H/16·W/16) and `pooled` (N, 512).
struct TensorVisual: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "visual",
        abstract: "R(2+1)D-18 visual backbone: `input` (N,3,8,112,112) → `layer4` (N,25088), `pooled` (N,512).")

    @OptionGroup var options: BackboneOptions

    @Flag(help: "Also write `max` (N, 512): the per-channel maximum over layer4's positions.")
    var withMax = false

    @Option(help: "Arithmetic of the convolutions: fp32 (exact), bf16 or int8 (faster, measured error: docs/performance.md).")
    var precision: Precision = .fp32

    func run() throws {
        let x = try options.readInput()
        guard x.rank == 5, x.shape[1] == 3, x.shape[0] >= 1 else {
            throw PipelineError(options.input, "`input` must be (N, 3, T, H, W) normalized clips, got \(Tensor.shapeString(x.shape))", remedy: "write the clips as (N, 3, T, H, W)")
        }
        try KernelDispatch.checkEnvironment()
        let loaded = try TSAVBackbones.loadVisual(options.weights)
        let model = precision == .fp32 ? loaded : R2Plus1D18(loaded, precision: precision)
        let workspace = R2Plus1D18.Workspace()
        var layer4: Tensor?, pooled: Tensor?, maxPooled: Tensor?
        let n = x.shape[0]
        var start = 0
        while start < n {
            let count = min(options.batch, n - start)
            let out = try model.forward(x.slice(first: start, count: count), workspace: workspace, wantMax: withMax,
                                        threads: options.threads.threads)
            if layer4 == nil {
                layer4 = Tensor(zeros: [n, out.layer4.shape[1]]); pooled = Tensor(zeros: [n, 512])
                if withMax { maxPooled = Tensor(zeros: [n, 512]) }
            }
            (layer4!.pointer + start * out.layer4.shape[1]).update(from: out.layer4.pointer, count: out.layer4.count)
            (pooled!.pointer + start * 512).update(from: out.pooled.pointer, count: out.pooled.count)
            if let m = out.maxPooled { (maxPooled!.pointer + start * 512).update(from: m.pointer, count: m.count) }
            start += count
            printError("emopipe: visual backbone \(start)/\(n) clips")
        }
        var w = SafeTensorsWriter(metadata: ["stage": "visual_backbone", "weights": options.weights])
        w.add("layer4", layer4!)
        w.add("pooled", pooled!)
        if let maxPooled { w.add("max", maxPooled) }
        try options.write(w)
    }
}
