import ArgumentParser
import Foundation
import Kernels
import Models
import Pipeline

extension Precision: ExpressibleByArgument {}

/// `emopipe bench`: throughput of the two backbones with synthetic weights (the synth.py rule over the TSAV keys) in
/// every precision side by side, next to the sgemm rate of a large square product measured in the same run;
/// `--kernels` checks and times every micro-kernel alone.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Time R(2+1)D-18 and ResNet-18 in each precision with synthetic weights; report ms/clip, clips/s, GFLOP/s and the sgemm rate.",
        discussion: """
        The precisions are timed in turns (fp32, bf16, int8, fp32, …) so that a busy machine slows them alike; the best \
        pass of each is reported. FLOPs count 2 per multiply-add of every convolution, padded taps included (40.5 GFLOP per \
        8×112×112 clip); for int8 the same count is reported as GOP/s. EMOPIPE_KERNELS=avx2 forces the AVX2 kernels.
        """)

    @OptionGroup var threadsOption: ThreadsOption
    var threads: Int { threadsOption.threads }

    @Option(parsing: .unconditional, help: "Clips (visual, 3×8×112×112) and spectrograms (audio, 1×64×frames) per forward pass.")
    var clips: Int = 4

    @Option(parsing: .unconditional, help: "Timed forward passes per backbone and precision (after one warm-up pass); the fastest is reported.")
    var repeats: Int = 3

    @Option(help: "Precision to time (repeatable; default: every one: fp32, bf16, int8).")
    var precision: [Precision] = []

    @Option(parsing: .unconditional, help: "Spectrogram frames for the audio backbone.")
    var frames: Int = 104

    @Option(parsing: .unconditional, help: "Side of the square sgemm reference product.")
    var gemmSize: Int = 2048

    @Flag(help: "Also time every convolution of R(2+1)D-18 on its own, in each precision (stderr).")
    var layers = false

    @Flag(help: "Check every micro-kernel against its plain reference and time it alone (one thread), instead of the backbones.")
    var kernels = false

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    @Option(help: "Also write the synthetic TSAV weights used here to this safetensors file (for `emopipe tensor`).")
    var saveWeights: String?

    @Option(help: "Instead of the backbones alone: run this input end to end in every speed mode and compare each mode's rows with exact mode's.")
    var video: String?

    @Option(name: .customLong("mode"), help: ArgumentHelp("With --video: a mode to run (repeatable): exact, fast, or PRECISION[/K] such as int8/4 (default: exact, bf16, int8, fp32/2/4/8, int8/2/4/8, fast).", valueName: "mode"))
    var videoModes: [SpeedMode] = []

    @Option(name: .customLong("model"), help: "With --video: a model folder (default: synthetic weights, every head).")
    var modelFolder: String?

    @Option(name: .customLong("head"), help: "With --video and --model: the head to use (default: the folder's only head).")
    var videoHead: HeadSpec?

    @Flag(name: .customLong("all-heads"), help: "With --video: compare the modes' accuracy for every head of the model folder (the synthetic one has all seven).")
    var allHeads = false

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

    /// Wall and process CPU seconds (user + system, all threads) of `body`. On a shared machine the CPU time is the
    /// steadier measure of the work done; the wall time is what a user waits.
    static func wallAndCPU(_ body: () throws -> Void) rethrows -> (wall: Double, cpu: Double) {
        let c0 = processCPUSeconds()
        let wall = try seconds(body)
        return (wall, processCPUSeconds() - c0)
    }

    static func processCPUSeconds() -> Double {
        var u = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &u)
        return Double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + Double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6
    }

    func log(_ s: String) { printError(s) }

    var precisions: [Precision] { precision.isEmpty ? Precision.allCases : Precision.allCases.filter(precision.contains) }

    static var cpuLine: String {
        "CPU \(KernelDispatch.cpuName.isEmpty ? "unknown" : KernelDispatch.cpuName) (\(KernelDispatch.cpuFeatureList))"
    }

    func run() throws {
        do {   // errors are reported by EmoPipe.main, one line
            try KernelDispatch.checkEnvironment()
            if kernels { return try runKernels() }
            if let video { return try runVideo(video) }
            log("emopipe bench: \(threads) thread(s), OpenBLAS core \(OpenBLAS.coreName), \(clips) clip(s) per pass, best of \(repeats)")
            log("emopipe bench: \(Self.cpuLine); \(KernelDispatch.summary)")

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
            if let saveWeights { try writeOutput(bytes, to: saveWeights) }
            let (fp32, audio) = try TSAVBackbones.load(file: SafeTensorsFile(data: bytes, path: "<synthetic tsav>"))
            let modes = precisions
            let models = modes.map { $0 == .fp32 ? fp32 : R2Plus1D18(fp32, precision: $0) }

            // R(2+1)D-18 on `clips` clips of 3×8×112×112, the precisions in turns.
            let vin = SyntheticWeights.uniformTensor("bench:clips", shape: [clips, 3, 8, 112, 112])
            let workspaces = modes.map { _ in R2Plus1D18.Workspace() }
            let outputs = modes.map { _ in Tensor(zeros: [clips, 25088]) }
            let pooled = Tensor(zeros: [clips, 512])
            func visualPass(_ i: Int) {
                models[i].forward(clips: vin.pointer, n: clips, t: 8, h: 112, w: 112, workspace: workspaces[i],
                                  layer4: outputs[i].pointer, pooled: pooled.pointer, threads: threads)
            }
            for i in modes.indices { visualPass(i) }
            // The same with the pipeline's clips of consecutive frames (clip f: every 4th frame back from f), each pass
            // continuing the sequence, with ClipReuse (fp32 and bf16; int8 shares nothing between clips).
            let slidingModes = modes.indices.filter { modes[$0] != .int8 }
            let pool = (0..<40).map { SyntheticWeights.uniformTensor("bench:frame\($0)", shape: [3, 112 * 112]) }
            let slidingInput = Tensor(zeros: [clips, 3, 8, 112, 112]), slidingOutput = Tensor(zeros: [clips, 25088])
            var slidingNext = slidingModes.map { _ in 100 }   // next clip end per mode
            let reuses = slidingModes.map { _ in ClipReuse() }
            func slidingPass(_ j: Int) {
                let i = slidingModes[j]
                var keys: [Int] = []
                for c in 0..<clips {
                    let f = slidingNext[j] + c
                    for t in 0..<8 {
                        let key = f - 28 + 4 * t
                        keys.append(key)
                        for ch in 0..<3 {
                            (slidingInput.pointer + ((c * 3 + ch) * 8 + t) * 112 * 112).update(from: pool[key % pool.count].pointer + ch * 112 * 112, count: 112 * 112)
                        }
                    }
                }
                slidingNext[j] += clips
                models[i].forward(clips: slidingInput.pointer, n: clips, t: 8, h: 112, w: 112, workspace: workspaces[i],
                                  layer4: slidingOutput.pointer, pooled: pooled.pointer, threads: threads, frameKeys: keys, reuse: reuses[j])
            }
            // Warm-up: enough passes that clip f − 4 has been seen (the steady state of a video), then count afresh.
            for j in slidingModes.indices {
                for _ in 0..<((4 + clips - 1) / clips) { slidingPass(j) }
                reuses[j].resetStatistics()
            }
            var visualBest = [Double](repeating: .infinity, count: modes.count), visualCPU = visualBest
            var slidingBest = [Double](repeating: .infinity, count: slidingModes.count), slidingCPU = slidingBest
            for _ in 0..<repeats {
                for i in modes.indices {
                    let (wall, cpu) = Self.wallAndCPU { visualPass(i) }
                    visualBest[i] = min(visualBest[i], wall); visualCPU[i] = min(visualCPU[i], cpu)
                }
                for j in slidingModes.indices {
                    let (wall, cpu) = Self.wallAndCPU { slidingPass(j) }
                    slidingBest[j] = min(slidingBest[j], wall); slidingCPU[j] = min(slidingCPU[j], cpu)
                }
            }
            let visualFlops = fp32.flops(clips: clips)
            // How far each mode's layer4 is from fp32's on this (random) input: a sanity figure; the accuracy that
            // matters is measured on real faces (docs/performance.md).
            var deviation = [Double](repeating: 0, count: modes.count)
            if let f = modes.firstIndex(of: .fp32) {
                let ref = outputs[f]
                let scale = Double((0..<ref.count).reduce(Float(0)) { max($0, abs(ref[$1])) })
                for i in modes.indices { deviation[i] = Double(maxAbsDifference(outputs[i], ref)) / max(scale, 1e-30) }
            }

            // ResNet-18 on `clips` spectrograms of 1×64×frames, each precision.
            let ain = SyntheticWeights.uniformTensor("bench:spectrograms", shape: [clips, 1, 64, frames])
            let audios = modes.map { $0 == .fp32 ? audio : ResNet18(audio, precision: $0) }
            let aws = modes.map { _ in ResNet18.Workspace() }
            let feats = modes.map { _ in Tensor(zeros: [clips, 512]) }
            func audioPass(_ i: Int) { audios[i].forward(spectrograms: ain.pointer, n: clips, height: 64, frames: frames, workspace: aws[i], features: feats[i].pointer, threads: threads) }
            for i in modes.indices { audioPass(i) }
            var audioBest = [Double](repeating: .infinity, count: modes.count), audioCPU = audioBest
            for _ in 0..<max(repeats, 5) {
                for i in modes.indices { let (w, c) = Self.wallAndCPU { audioPass(i) }; audioBest[i] = min(audioBest[i], w); audioCPU[i] = min(audioCPU[i], c) }
            }
            let audioFlops = audio.flops(n: clips, frames: frames)
            var audioDeviation = [Double](repeating: 0, count: modes.count)
            if let f = modes.firstIndex(of: .fp32) {
                let scale = Double((0..<feats[f].count).reduce(Float(0)) { max($0, abs(feats[f][$1])) })
                for i in modes.indices { audioDeviation[i] = Double(maxAbsDifference(feats[i], feats[f])) / max(scale, 1e-30) }
            }

            if layers { for (i, m) in models.enumerated() { timeLayers(m, label: modes[i].rawValue) } }

            struct Row { let name: String; let precision: Precision; let seconds: Double; let cpu: Double; let flops: Double; let deviation: Double?
                         var sliding = false; var skipped: Double? = nil }
            var rows = modes.indices.map { Row(name: "r2plus1d_18", precision: modes[$0], seconds: visualBest[$0], cpu: visualCPU[$0], flops: visualFlops,
                                               deviation: modes.contains(.fp32) ? deviation[$0] : nil) }
            for (j, i) in slidingModes.enumerated() {
                rows.append(Row(name: "r2plus1d_18", precision: modes[i], seconds: slidingBest[j], cpu: slidingCPU[j], flops: visualFlops, deviation: nil,
                                sliding: true, skipped: reuses[j].skippedFlops / max(1, reuses[j].totalFlops)))
            }
            for i in modes.indices {
                rows.append(Row(name: "resnet18_audio", precision: modes[i], seconds: audioBest[i], cpu: audioCPU[i], flops: audioFlops,
                                deviation: modes.contains(.fp32) ? audioDeviation[i] : nil))
            }
            let fp32Seconds = modes.firstIndex(of: .fp32).map { visualBest[$0] }
            func key(_ r: Row) -> String {
                r.name + (r.precision != .fp32 ? "_\(r.precision.rawValue)" : "") + (r.sliding ? "_sliding_reuse" : "")
            }
            let audioFP32Seconds = modes.firstIndex(of: .fp32).map { audioBest[$0] }
            if json {
                var parts: [String] = []
                for r in rows {
                    var fields = String(format: "\"precision\":\"%@\",\"kernel\":\"%@\",\"cpu_ms_per_clip\":%.3f,\"ms_per_clip\":%.3f,\"clips_per_s\":%.3f,\"gflop_per_clip\":%.4f,\"gflop_per_s\":%.2f,\"fraction_of_sgemm\":%.3f",
                                        r.precision.rawValue, KernelDispatch.kernelName(r.precision), r.cpu * 1000 / Double(clips), r.seconds * 1000 / Double(clips), Double(clips) / r.seconds,
                                        r.flops / Double(clips) / 1e9, r.flops / r.seconds / 1e9, r.flops / r.seconds / 1e9 / gemmRate)
                    if let f = r.name == "r2plus1d_18" ? fp32Seconds : audioFP32Seconds { fields += String(format: ",\"speedup_vs_fp32\":%.3f", f / r.seconds) }
                    if let d = r.deviation { fields += String(format: ",\"max_rel_diff_vs_fp32\":%.3e", d) }
                    if let k = r.skipped { fields += String(format: ",\"sliding_clips\":true,\"skipped_fraction\":%.4f", k) }
                    parts.append("\"\(key(r))\":{\(fields)}")
                }
                print(String(format: "{\"cpu\":\"%@\",\"cpu_features\":\"%@\",\"kernels\":\"%@\",\"threads\":%d,\"clips_per_pass\":%d,\"audio_frames\":%d,\"blas_core\":\"%@\",\"sgemm_%d_gflop_per_s\":%.2f,\"emopipe_gemm_%d_gflop_per_s\":%.2f,%@}",
                             KernelDispatch.cpuName, KernelDispatch.cpuFeatureList, KernelDispatch.summary, threads, clips, frames, OpenBLAS.coreName,
                             g, gemmRate, g, ownRate, parts.joined(separator: ",")))
            } else {
                print(Self.cpuLine)
                print(KernelDispatch.summary)
                print("threads \(threads), \(clips) clip(s) per pass, best of \(repeats), OpenBLAS core \(OpenBLAS.coreName)")
                print(String(format: "OpenBLAS sgemm %d³: %.1f GFLOP/s; emopipe's fp32 GEMM kernel on the same product: %.1f GFLOP/s", g, gemmRate, g, ownRate))
                print("backbone         mode          input          ms/clip   clips/s  G(FL)OP/clip  G(FL)OP/s  of sgemm  vs fp32  CPU ms/clip  max|Δ|/max|fp32|")
                for r in rows {
                    let input = r.name == "r2plus1d_18" ? "3×8×112×112" : "1×64×\(frames)"
                    let mode = r.precision.rawValue + (r.sliding ? " sliding" : "")
                    var line = r.name.padding(toLength: 16, withPad: " ", startingAt: 0) + " " + mode.padding(toLength: 13, withPad: " ", startingAt: 0)
                        + " " + input.padding(toLength: 13, withPad: " ", startingAt: 0)
                        + String(format: " %8.2f  %8.2f  %12.3f  %9.1f  %7.0f%%", r.seconds * 1000 / Double(clips), Double(clips) / r.seconds,
                                 r.flops / Double(clips) / 1e9, r.flops / r.seconds / 1e9, 100 * r.flops / r.seconds / 1e9 / gemmRate)
                    if let f = r.name == "r2plus1d_18" ? fp32Seconds : audioFP32Seconds { line += String(format: "  %6.2f×", f / r.seconds) } else { line += "         " }
                    line += String(format: "  %11.2f", r.cpu * 1000 / Double(clips))
                    if let d = r.deviation { line += String(format: "  %.1e", d) }
                    if let k = r.skipped { line += String(format: "  (%.1f %% of the work skipped, same bits)", 100 * k) }
                    print(line)
                }
                if !slidingModes.isEmpty {
                    print("sliding: the pipeline's clips of consecutive frames (every 4th frame back), with ClipReuse; FLOP rates count the whole clip")
                }
            }
        }
    }

    /// `--kernels`: every micro-kernel against its reference, then timed alone on one thread.
    func runKernels() throws {
        log("emopipe bench --kernels: each kernel checked against its plain reference, then timed alone (one thread, best of \(max(repeats, 5)))")
        let reports = KernelHarness.run(repeats: max(repeats, 5))
        if json {
            let items = reports.map { r in
                String(format: "{\"kernel\":\"%@\",\"isa\":\"%@\",\"shape\":\"%@\",\"check\":\"%@\",\"passed\":%@,\"ms\":%.4f,\"rate\":%.2f,\"unit\":\"%@\"%@}",
                       r.kernel, r.isa, r.shape, r.check, r.passed ? "true" : "false", r.milliseconds, r.rate, r.unit,
                       r.peakFraction.map { String(format: ",\"instruction\":\"%@\",\"fraction_of_peak\":%.3f", r.instruction ?? "", $0) } ?? "")
            }
            print("{\"cpu\":\"\(KernelDispatch.cpuName)\",\"cpu_features\":\"\(KernelDispatch.cpuFeatureList)\",\"kernels\":[\(items.joined(separator: ","))]}")
        } else {
            print(Self.cpuLine)
            print(KernelDispatch.summary)
            print("kernel         isa           shape                        check                                  ms      rate            of peak")
            for r in reports {
                func pad(_ s: String, _ n: Int) -> String { s.padding(toLength: max(n, s.count), withPad: " ", startingAt: 0) }
                var line = pad(r.kernel, 14) + " " + pad(r.isa, 13) + " " + pad(r.shape, 28) + " " + pad(r.check, 36)
                    + String(format: " %8.3f  %7.1f %@", r.milliseconds, r.rate, pad(r.unit, 9))
                if let f = r.peakFraction { line += String(format: " %5.1f %% of %@", 100 * f, r.instruction ?? "") }
                print(line)
            }
        }
        if reports.contains(where: { !$0.passed }) {
            throw KernelDispatchError("a kernel differs from its plain reference (see the check column above; report it with `emopipe bench --kernels --json`)")
        }
    }

    /// Each convolution of R(2+1)D-18 alone on random data of its input shape (best of `repeats`), in the model's precision.
    func timeLayers(_ visual: R2Plus1D18, label: String) {
        log("[\(label)] layer                        input (N,T,H,W,C)          kernel   stride       ms   G(FL)OP/s   CPU ms")
        var total = 0.0, totalCPU = 0.0
        for (name, conv, s) in visual.convolutions(for: ActivationShape(n: clips, t: 8, h: 112, w: 112, c: 3)) {
            let x = SyntheticWeights.uniformTensor("bench:" + name, shape: [s.count])
            for i in 0..<x.count { x[i] = abs(x[i]) }   // post-ReLU inputs are non-negative (int8 needs it)
            let y = Tensor(zeros: [conv.outputShape(s)!.count])
            let scratch = ScratchBuffer(), converted = ScratchBuffer()
            let reduced = visual.reducedConvolution(conv)
            func pass() {
                if let reduced { reduced.forward(x.pointer, s, into: y.pointer, relu: true, scratch: scratch, converted: converted, threads: threads) }
                else { conv.forward(x.pointer, s, into: y.pointer, relu: true, scratch: scratch, threads: threads) }
            }
            pass()
            var best = Double.infinity, bestCPU = Double.infinity
            for _ in 0..<repeats { let (w, c) = Self.wallAndCPU(pass); best = min(best, w); bestCPU = min(bestCPU, c) }
            total += best; totalCPU += bestCPU
            let g = conv.geometry
            func pad(_ s: String, _ n: Int) -> String { s.padding(toLength: max(n, s.count), withPad: " ", startingAt: 0) }
            log(pad("[\(label)] " + name, 36) + " " + pad("(\(s.n),\(s.t),\(s.h),\(s.w),\(s.c))", 26) + " " + pad("\(g.kt)×\(g.kh)×\(g.kw)", 8) + " "
                + pad("\(g.st),\(g.sh),\(g.sw)", 9) + String(format: " %7.2f  %7.1f  %7.2f", best * 1000, conv.flops(s) / best / 1e9, bestCPU * 1000))
        }
        log(String(format: "[%@] sum of convolutions: %.1f ms (CPU %.1f ms)", label, total * 1000, totalCPU * 1000))
    }
}
