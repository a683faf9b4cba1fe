import ArgumentParser
import Foundation
import Kernels
import Models

/// `emopipe bench`: throughput of the two backbones with synthetic weights (the synth.py rule over the TSAV keys),
/// next to the sgemm rate of a large square product measured in the same run.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Time R(2+1)D-18 and ResNet-18 with synthetic weights; report ms/clip, clips/s, GFLOP/s and the sgemm rate.")

    @OptionGroup var threadsOption: ThreadsOption
    var threads: Int { threadsOption.threads }

    @Option(parsing: .unconditional, help: "Clips (visual, 3×8×112×112) and spectrograms (audio, 1×64×frames) per forward pass.")
    var clips: Int = 4

    @Option(parsing: .unconditional, help: "Timed forward passes per backbone (after one warm-up pass); the fastest is reported.")
    var repeats: Int = 3

    @Option(parsing: .unconditional, help: "Spectrogram frames for the audio backbone.")
    var frames: Int = 104

    @Option(parsing: .unconditional, help: "Side of the square sgemm reference product.")
    var gemmSize: Int = 2048

    @Flag(help: "Also time every convolution of R(2+1)D-18 on its own (stderr).")
    var layers = false

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    @Option(help: "Also write the synthetic TSAV weights used here to this safetensors file (for `emopipe tensor`).")
    var saveWeights: String?

    func validate() throws {
        guard clips >= 1, repeats >= 1, frames >= 1, gemmSize >= 1 else {
            throw ValidationError("--clips, --repeats, --frames and --gemm-size must be at least 1")
        }
    }

    static func seconds(_ body: () throws -> Void) rethrows -> Double {
        let t0 = DispatchTime.now().uptimeNanoseconds
        try body()
        return Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
    }

    func log(_ s: String) { printError(s) }

    func run() throws {
        do {   // errors are reported by EmoPipe.main, one line
            log("emopipe bench: \(threads) BLAS thread(s), OpenBLAS core \(OpenBLAS.coreName), \(clips) clip(s) per pass, best of \(repeats)")

            // sgemm reference
            let g = gemmSize
            let a = Tensor(shape: [g, g]) { for i in 0..<$0.count { $0[i] = Float(i % 17) * 0.01 } }
            let b = Tensor(shape: [g, g]) { for i in 0..<$0.count { $0[i] = Float(i % 13) * 0.01 } }
            let c = Tensor(zeros: [g, g])
            func gemm() { sgemm(m: g, n: g, k: g, a: a.pointer, lda: g, b: b.pointer, ldb: g, c: c.pointer, ldc: g, threads: threads) }
            gemm()
            var gemmBest = Double.infinity
            for _ in 0..<repeats { gemmBest = min(gemmBest, Self.seconds(gemm)) }
            let gemmRate = 2 * pow(Double(g), 3) / gemmBest / 1e9

            // The same product through emopipe's own kernel: a 1×1×1 convolution of g positions, g → g channels.
            let pointwise = Conv3D(weight: b.reshaped([g, g, 1, 1, 1]))
            let shape = ActivationShape(n: 1, t: 1, h: 1, w: g, c: g)
            let convScratch = ScratchBuffer()
            func ownGemm() { pointwise.forward(a.pointer, shape, into: c.pointer, relu: false, scratch: convScratch, threads: threads) }
            ownGemm()
            var ownBest = Double.infinity
            for _ in 0..<repeats { ownBest = min(ownBest, Self.seconds(ownGemm)) }
            let ownRate = 2 * pow(Double(g), 3) / ownBest / 1e9

            log("emopipe bench: generating synthetic TSAV weights")
            let weightsFile = SyntheticWeights.writer(for: TSAVBackbones.stateDictKeys, metadata: ["made_by": "emopipe bench"])
            let bytes = try weightsFile.serialized()
            if let saveWeights { try writeAtomically(bytes, to: saveWeights) }
            let (visual, audio) = try TSAVBackbones.load(file: SafeTensorsFile(data: bytes, path: "<synthetic tsav>"))

            // R(2+1)D-18 on `clips` clips of 3×8×112×112
            let vin = SyntheticWeights.uniformTensor("bench:clips", shape: [clips, 3, 8, 112, 112])
            let vws = R2Plus1D18.Workspace()
            let l4 = Tensor(zeros: [clips, 25088]), pooled = Tensor(zeros: [clips, 512])
            func visualPass() { visual.forward(clips: vin.pointer, n: clips, t: 8, h: 112, w: 112, workspace: vws, layer4: l4.pointer, pooled: pooled.pointer, threads: threads) }
            visualPass()
            var visualBest = Double.infinity
            for _ in 0..<repeats { visualBest = min(visualBest, Self.seconds(visualPass)) }
            let visualFlops = visual.flops(clips: clips)

            // ResNet-18 on `clips` spectrograms of 1×64×frames
            let ain = SyntheticWeights.uniformTensor("bench:spectrograms", shape: [clips, 1, 64, frames])
            let aws = ResNet18.Workspace()
            let feats = Tensor(zeros: [clips, 512])
            func audioPass() { audio.forward(spectrograms: ain.pointer, n: clips, height: 64, frames: frames, workspace: aws, features: feats.pointer, threads: threads) }
            audioPass()
            var audioBest = Double.infinity
            for _ in 0..<max(repeats, 5) { audioBest = min(audioBest, Self.seconds(audioPass)) }
            let audioFlops = audio.flops(n: clips, frames: frames)

            if layers { timeLayers(visual) }

            struct Row { let name: String; let seconds: Double; let flops: Double }
            let rows = [Row(name: "r2plus1d_18", seconds: visualBest, flops: visualFlops),
                        Row(name: "resnet18_audio", seconds: audioBest, flops: audioFlops)]
            if json {
                var parts: [String] = []
                for r in rows {
                    parts.append(String(format: "\"%@\":{\"ms_per_clip\":%.3f,\"clips_per_s\":%.3f,\"gflop_per_clip\":%.4f,\"gflop_per_s\":%.2f,\"fraction_of_sgemm\":%.3f}",
                                        r.name, r.seconds * 1000 / Double(clips), Double(clips) / r.seconds, r.flops / Double(clips) / 1e9,
                                        r.flops / r.seconds / 1e9, r.flops / r.seconds / 1e9 / gemmRate))
                }
                print(String(format: "{\"threads\":%d,\"clips_per_pass\":%d,\"audio_frames\":%d,\"blas_core\":\"%@\",\"sgemm_%d_gflop_per_s\":%.2f,\"emopipe_gemm_%d_gflop_per_s\":%.2f,%@}",
                             threads, clips, frames, OpenBLAS.coreName, g, gemmRate, g, ownRate, parts.joined(separator: ",")))
            } else {
                print("threads \(threads), \(clips) clip(s) per pass, OpenBLAS core \(OpenBLAS.coreName)")
                print(String(format: "OpenBLAS sgemm %d³: %.1f GFLOP/s; emopipe's GEMM kernel on the same product: %.1f GFLOP/s", g, gemmRate, g, ownRate))
                print("backbone         input          ms/clip   clips/s  GFLOP/clip  GFLOP/s  of sgemm")
                for (r, input) in zip(rows, ["3×8×112×112", "1×64×\(frames)"]) {
                    print(r.name.padding(toLength: 16, withPad: " ", startingAt: 0) + " " + input.padding(toLength: 13, withPad: " ", startingAt: 0)
                          + String(format: " %8.2f  %8.2f  %10.3f  %7.1f  %7.0f%%",
                                 r.seconds * 1000 / Double(clips), Double(clips) / r.seconds, r.flops / Double(clips) / 1e9,
                                 r.flops / r.seconds / 1e9, 100 * r.flops / r.seconds / 1e9 / gemmRate))
                }
            }
        }
    }

    /// Each convolution of R(2+1)D-18 alone on random data of its input shape (best of `repeats`).
    func timeLayers(_ visual: R2Plus1D18) {
        log("layer                              input (N,T,H,W,C)          kernel   stride       ms   GFLOP/s")
        var total = 0.0
        for (name, conv, s) in visual.convolutions(for: ActivationShape(n: clips, t: 8, h: 112, w: 112, c: 3)) {
            let x = SyntheticWeights.uniformTensor("bench:" + name, shape: [s.count])
            let y = Tensor(zeros: [conv.outputShape(s)!.count])
            let scratch = ScratchBuffer()
            conv.forward(x.pointer, s, into: y.pointer, relu: true, scratch: scratch, threads: threads)
            var best = Double.infinity
            for _ in 0..<repeats { best = min(best, Self.seconds { conv.forward(x.pointer, s, into: y.pointer, relu: true, scratch: scratch, threads: threads) }) }
            total += best
            let g = conv.geometry
            func pad(_ s: String, _ n: Int) -> String { s.padding(toLength: max(n, s.count), withPad: " ", startingAt: 0) }
            log(pad(name, 34) + " " + pad("(\(s.n),\(s.t),\(s.h),\(s.w),\(s.c))", 26) + " " + pad("\(g.kt)×\(g.kh)×\(g.kw)", 8) + " "
                + pad("\(g.st),\(g.sh),\(g.sw)", 9) + String(format: " %7.2f  %7.1f", best * 1000, conv.flops(s) / best / 1e9))
        }
        log(String(format: "sum of convolutions: %.1f ms", total * 1000))
    }
}
