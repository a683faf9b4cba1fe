import CKernels
#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// The per-kernel harness behind `emopipe bench --kernels` (llm.c style): each fast kernel, in every instruction-set
/// version this CPU can run, is first checked against its plain reference on the same data, then timed alone on one
/// thread (thread CPU time, best of the repeats); GEMMs are compared with the measured peak of the instruction they
/// are built on (`emo_peak_loop`), timed the same way in turns with them.
public enum KernelHarness {
    public struct Report: Sendable {
        public let kernel: String     // e.g. "gemm int8"
        public let isa: String        // e.g. "avx512-vnni"
        public let shape: String
        public let check: String      // what the comparison with the reference found
        public let passed: Bool
        public let milliseconds: Double
        public let rate: Double       // GFLOP/s (GEMMs: 2 per multiply-add) or GB/s (conversions)
        public let unit: String
        public let instruction: String?
        public let peakFraction: Double?
    }

    /// CPU seconds of the calling thread while `body` runs. Every kernel here runs on one thread, so this is its
    /// run time without the time the OS gave to other processes: on a shared machine it is far steadier than the
    /// wall clock, and a kernel and its instruction's peak loop are compared on the same footing.
    static func seconds(_ body: () -> Void) -> Double {
        var t0 = timespec(), t1 = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0)
        body()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1)
        return Double(t1.tv_sec - t0.tv_sec) + Double(t1.tv_nsec - t0.tv_nsec) / 1e9
    }

    static func best(_ repeats: Int, _ body: () -> Void) -> Double {
        body()
        var b = Double.infinity
        for _ in 0..<repeats { b = min(b, seconds(body)) }
        return b
    }

    /// Best times of a kernel and of its instruction's peak loop, measured in turns (a busy machine slows both alike).
    /// Returns the kernel's seconds and the instruction's multiply-adds per second (nil when the CPU lacks it).
    static func bestWithPeak(_ repeats: Int, peakKind: Int32, macsPerInstruction: Double, _ body: () -> Void) -> (Double, Double?) {
        let iterations = 1_000_000
        let hasPeak = emo_peak_loop(peakKind, 1) >= 0
        body()
        var b = Double.infinity, p = Double.infinity
        for _ in 0..<repeats {
            b = min(b, seconds(body))
            if hasPeak { p = min(p, seconds { _ = emo_peak_loop(peakKind, iterations) }) }
        }
        return (b, hasPeak ? 12 * Double(iterations) * macsPerInstruction / p : nil)
    }

    static let peakNames: [Int32: (String, Double)] = [
        Int32(EMO_PEAK_FMA_ZMM): ("vfmadd231ps zmm", 16), Int32(EMO_PEAK_FMA_YMM): ("vfmadd231ps ymm", 8),
        Int32(EMO_PEAK_VPDPBUSD_ZMM): ("vpdpbusd zmm", 64), Int32(EMO_PEAK_VPMADDWD_YMM): ("vpmaddwd ymm", 16),
        Int32(EMO_PEAK_VDPBF16PS_ZMM): ("vdpbf16ps zmm", 32),
    ]

    /// Times `gemm(rowStart, rowCount)` over all rows in tiles of `tileRows` (as the convolutions call it) against the
    /// peak of `peakKind`; returns (seconds, instruction name, fraction of its peak).
    static func timeGEMM(_ repeats: Int, rows: Int, tileRows: Int, macs: Double, peakKind: Int32, _ gemm: (Int, Int) -> Void) -> (Double, String, Double?) {
        let (name, perInstruction) = peakNames[peakKind]!
        let (t, peak) = bestWithPeak(repeats, peakKind: peakKind, macsPerInstruction: perInstruction) {
            var r0 = 0
            while r0 < rows { let m = min(tileRows, rows - r0); gemm(r0, m); r0 += m }
        }
        return (t, name, peak.map { macs / t / $0 })
    }

    /// The instruction sets a reduced-precision GEMM runs on here: AVX2 always; first AVX-512 (named `avx512Name`)
    /// when the CPU also has `feature`.
    static func reducedSets(_ feature: Int, _ avx512Name: String) -> [(Int32, String)] {
        let avx2 = (Int32(EMO_ISA_AVX2), "avx2")
        return KernelDispatch.has(EMO_CPU_AVX512) && KernelDispatch.has(feature) ? [(Int32(EMO_ISA_AVX512), avx512Name), avx2] : [avx2]
    }

    /// A C kernel's operand, output or scratch on the heap: zeros, or a copy of `values` (freed on deinit).
    final class Buffer<T> {
        let pointer: UnsafeMutablePointer<T>
        let count: Int
        init(_ count: Int) {
            let raw = UnsafeMutableRawPointer.allocate(byteCount: max(1, count) * MemoryLayout<T>.stride, alignment: 64)
            raw.initializeMemory(as: UInt8.self, repeating: 0, count: max(1, count) * MemoryLayout<T>.stride)
            pointer = raw.bindMemory(to: T.self, capacity: max(1, count))
            self.count = count
        }
        convenience init(_ values: [T]) {
            self.init(values.count)
            values.withUnsafeBufferPointer { pointer.update(from: $0.baseAddress!, count: values.count) }
        }
        func at(_ offset: Int) -> UnsafeMutablePointer<T> { pointer + offset }
        var values: [T] { Array(UnsafeBufferPointer(start: pointer, count: count)) }
        deinit { UnsafeMutableRawPointer(pointer).deallocate() }
    }

    /// Deterministic pseudo-random values in [0, 1).
    struct Noise {
        var state: UInt64
        mutating func next() -> Float {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(state >> 40) / Float(1 << 24)
        }
    }

    /// Runs every check and timing. `rows`, `k`, `n`: the GEMM shape (default: one frame of layer1's spatial
    /// convolution, 56·56 positions × 576 (3·3·64) → 144 channels).
    public static func run(repeats: Int, rows: Int = 3136, k: Int = 576, n: Int = 144) -> [Report] {
        var reports: [Report] = []
        // Row tiles as the convolutions use them (`Conv3D.tiling`: one K block of A stays in L2).
        let tileRows = Conv3D.baseTileRows(k: k)
        let macs = Double(rows) * Double(k) * Double(n)
        let checkRows = min(rows, 250)   // the scalar references run on the first rows (250: a partial 12-row tile)
        var noise = Noise(state: 42)
        let shape = "M \(rows) (tiles of \(tileRows)) × K \(k) × N \(n)"
        let flops = 2 * Double(rows) * Double(k) * Double(n)
        let f32Sets: [(Int32, String)] = KernelDispatch.has(EMO_CPU_AVX512) ? [(Int32(EMO_ISA_AVX512), "avx512"), (Int32(EMO_ISA_AVX2), "avx2")] : [(Int32(EMO_ISA_AVX2), "avx2")]

        // fp32 GEMM
        do {
            let a = Tensor(shape: [rows, k]) { for i in 0..<$0.count { $0[i] = noise.next() - 0.5 } }
            let b = Tensor(shape: [k, n]) { for i in 0..<$0.count { $0[i] = noise.next() - 0.5 } }
            let packed = PackedGEMM.packB(b.pointer, k: k, n: n)
            let ref = Tensor(zeros: [checkRows, n])
            PackedGEMM.reference(rows: checkRows, n: n, k: k, a: a.pointer, lda: k, packedB: packed.pointer, kTotal: k, c: ref.pointer, ldc: n, accumulate: false)
            let c = Tensor(zeros: [rows, n]), scratch = Tensor(zeros: [PackedGEMM.scratchCount(k: k)])
            for (isa, name) in f32Sets {
                func go(_ r0: Int, _ m: Int) { PackedGEMM.multiply(rows: m, n: n, k: k, a: a.pointer + r0 * k, lda: k, packedB: packed.pointer, kTotal: k, c: c.pointer + r0 * n, ldc: n, accumulate: false, scratch: scratch.pointer, isa: isa) }
                go(0, checkRows)
                let same = (0..<(checkRows * n)).allSatisfy { c[$0].bitPattern == ref[$0].bitPattern }
                let (t, instruction, fraction) = timeGEMM(repeats, rows: rows, tileRows: tileRows, macs: macs,
                                                          peakKind: isa == Int32(EMO_ISA_AVX512) ? Int32(EMO_PEAK_FMA_ZMM) : Int32(EMO_PEAK_FMA_YMM), go)
                reports.append(Report(kernel: "gemm fp32", isa: name, shape: shape, check: same ? "bit-identical to reference" : "DIFFERS from reference",
                                      passed: same, milliseconds: t * 1000, rate: flops / t / 1e9, unit: "GFLOP/s", instruction: instruction, peakFraction: fraction))
            }
        }

        // int8 GEMM (u8 × s8 → int32)
        do {
            let a = (0..<(rows * k)).map { _ in UInt8(noise.next() * 256) }
            let w = (0..<(k * n)).map { _ in Int8(Int(noise.next() * 255) - 127) }
            let packed = packInt8(w, k: k, n: n)
            var ref = [Int32](repeating: 0, count: checkRows * n)
            for i in 0..<checkRows { for j in 0..<n { var s: Int32 = 0; for q in 0..<k { s &+= Int32(a[i * k + q]) * Int32(w[q * n + j]) }; ref[i * n + j] = s } }
            let aBuffer = Buffer(a), c = Buffer<Int32>(rows * n), scratch = Buffer<UInt8>(PackedGEMM.mr * k)
            for (isa, name) in reducedSets(EMO_CPU_AVX512_VNNI, "avx512-vnni") {
                func go(_ r0: Int, _ m: Int) { emo_gemm_u8s8_packed(isa, m, n, k, aBuffer.at(r0 * k), k, packed, 0, k, c.at(r0 * n), n, 0, scratch.at(0)) }
                go(0, checkRows)
                let same = Array(c.values[0..<(checkRows * n)]) == ref
                let (t, instruction, fraction) = timeGEMM(repeats, rows: rows, tileRows: tileRows, macs: macs,
                                                          peakKind: isa == Int32(EMO_ISA_AVX512) ? Int32(EMO_PEAK_VPDPBUSD_ZMM) : Int32(EMO_PEAK_VPMADDWD_YMM), go)
                reports.append(Report(kernel: "gemm int8", isa: name, shape: shape, check: same ? "identical to reference (exact int32)" : "DIFFERS from reference",
                                      passed: same, milliseconds: t * 1000, rate: flops / t / 1e9, unit: "GOP/s", instruction: instruction, peakFraction: fraction))
            }
        }

        // bf16 GEMM (fp32 sums)
        do {
            let a = (0..<(rows * k)).map { _ in ReducedConv3D.bf16(noise.next() - 0.5) }
            let w = (0..<(k * n)).map { _ in ReducedConv3D.bf16(noise.next() - 0.5) }
            let packed = packBF16(w, k: k, n: n)
            // Reference: per K block of EMO_BF16_KC, pairs added as (acc + a1·b1) + a0·b0 (exact products).
            let kcb = Int(EMO_BF16_KC)
            var ref = [Float](repeating: 0, count: checkRows * n)
            for i in 0..<checkRows {
                for j in 0..<n {
                    var k0 = 0, total: Float = 0
                    while k0 < k {
                        var s: Float = 0
                        for q in stride(from: k0, to: min(k, k0 + kcb), by: 2) {
                            s = s + ReducedConv3D.float(bf16: a[i * k + q + 1]) * ReducedConv3D.float(bf16: w[(q + 1) * n + j])
                            s = s + ReducedConv3D.float(bf16: a[i * k + q]) * ReducedConv3D.float(bf16: w[q * n + j])
                        }
                        total = k0 == 0 ? s : s + total
                        k0 += kcb
                    }
                    ref[i * n + j] = total
                }
            }
            let aBuffer = Buffer(a), c = Buffer<Float>(rows * n), scratch = Buffer<UInt16>(PackedGEMM.mr * k)
            for (isa, name) in reducedSets(EMO_CPU_AVX512_BF16, "avx512-bf16") {
                func go(_ r0: Int, _ m: Int) { emo_gemm_bf16_packed(isa, m, n, k, aBuffer.at(r0 * k), k, packed, 0, k, c.at(r0 * n), n, 0, scratch.at(0)) }
                go(0, checkRows)
                let out = c.values
                var worst: Float = 0, scale: Float = 0
                for i in 0..<(checkRows * n) { worst = max(worst, abs(out[i] - ref[i])); scale = max(scale, abs(ref[i])) }
                let same = (0..<(checkRows * n)).allSatisfy { out[$0].bitPattern == ref[$0].bitPattern }
                let ok = worst <= 1e-5 * max(1, scale)
                let (t, instruction, fraction) = timeGEMM(repeats, rows: rows, tileRows: tileRows, macs: macs,
                                                          peakKind: isa == Int32(EMO_ISA_AVX512) ? Int32(EMO_PEAK_VDPBF16PS_ZMM) : Int32(EMO_PEAK_FMA_YMM), go)
                reports.append(Report(kernel: "gemm bf16", isa: name, shape: shape,
                                      check: same ? "bit-identical to reference" : "max |Δ| \(String(format: "%.1e", worst)) (max |ref| \(String(format: "%.1f", scale)))",
                                      passed: ok, milliseconds: t * 1000, rate: flops / t / 1e9, unit: "GFLOP/s", instruction: instruction, peakFraction: fraction))
            }
        }

        // Conversions on one layer1 activation frame (56·56 positions × 64 channels), channels padded to 68 / 66.
        do {
            let r = 3136, cols = 64, count = r * cols
            let x = Tensor(shape: [count]) { for i in 0..<$0.count { $0[i] = max(0, noise.next() * 4 - 1) } }
            x[5] = Float(bitPattern: 0x0001_0000)   // a denormal: bf16 conversion flushes it to zero
            let inverse: Float = 255 / 3
            let refQ: [UInt8] = (0..<(r * 68)).map { i in
                let c = i % 68; guard c < cols else { return 0 }
                let v = (x[(i / 68) * cols + c] * inverse).rounded(.toNearestOrEven); return UInt8(max(0, min(255, v)))
            }
            let refB: [UInt16] = (0..<(r * 66)).map { i in let c = i % 66; return c < cols ? ReducedConv3D.bf16(x[(i / 66) * cols + c]) : 0 }
            let bytesIn = Double(count * 4)
            for (isa, name) in f32Sets {
                var q = [UInt8](repeating: 7, count: r * 68)
                emo_quantize_u8(isa, x.pointer, r, cols, inverse, &q, 68)
                let tq = best(repeats) { emo_quantize_u8(isa, x.pointer, r, cols, inverse, &q, 68) }
                reports.append(Report(kernel: "quantize u8", isa: name, shape: "\(r) × \(cols) → stride 68", check: q == refQ ? "identical to reference" : "DIFFERS from reference",
                                      passed: q == refQ, milliseconds: tq * 1000, rate: bytesIn / tq / 1e9, unit: "GB/s read", instruction: nil, peakFraction: nil))
                let bisa = isa == Int32(EMO_ISA_AVX512) && KernelDispatch.has(EMO_CPU_AVX512_BF16) ? isa : Int32(EMO_ISA_AVX2)
                let bname = bisa == Int32(EMO_ISA_AVX512) ? "avx512-bf16" : "avx2"
                if isa == Int32(EMO_ISA_AVX2) || bisa == isa {
                    var h = [UInt16](repeating: 7, count: r * 66)
                    emo_convert_bf16(bisa, x.pointer, r, cols, &h, 66)
                    let tb = best(repeats) { emo_convert_bf16(bisa, x.pointer, r, cols, &h, 66) }
                    reports.append(Report(kernel: "convert bf16", isa: bname, shape: "\(r) × \(cols) → stride 66", check: h == refB ? "identical to reference" : "DIFFERS from reference",
                                          passed: h == refB, milliseconds: tb * 1000, rate: bytesIn / tb / 1e9, unit: "GB/s read", instruction: nil, peakFraction: nil))
                }
                var m: Float = 0
                let tm = best(repeats) { m = emo_max_f32(isa, x.pointer, count) }
                let refMax = (0..<count).reduce(Float(0)) { max($0, x[$1]) }
                reports.append(Report(kernel: "maximum", isa: name, shape: "\(count)", check: m == refMax ? "identical to reference" : "DIFFERS from reference",
                                      passed: m == refMax, milliseconds: tm * 1000, rate: bytesIn / tm / 1e9, unit: "GB/s read", instruction: nil, peakFraction: nil))
                // Dequantize epilogue: int32 sums → fp32 with scales, bias, residual, ReLU, in place.
                let accs = (0..<count).map { _ in Int32(noise.next() * 200_000) - 100_000 }
                let colScale = (0..<cols).map { _ in noise.next() * 1e-3 }, bias = (0..<cols).map { _ in noise.next() - 0.5 }
                let residual = (0..<count).map { _ in noise.next() }
                let refD: [Float] = (0..<count).map { i in
                    let c = i % cols; let s = Float(0.02) * colScale[c]
                    return max(0, Float(accs[i]) * s + bias[c] + residual[i])
                }
                var buf = [Float](repeating: 0, count: count)
                func deq() {
                    buf.withUnsafeMutableBytes { raw in
                        raw.baseAddress!.copyMemory(from: accs, byteCount: count * 4)
                        emo_dequantize(isa, raw.baseAddress!, r, cols, cols, 0.02, colScale, bias, residual, 1)
                    }
                }
                deq()
                let same = (0..<count).allSatisfy { buf[$0].bitPattern == refD[$0].bitPattern }
                let td = best(repeats) { deq() }
                reports.append(Report(kernel: "dequantize", isa: name, shape: "\(r) × \(cols)", check: same ? "bit-identical to reference" : "DIFFERS from reference",
                                      passed: same, milliseconds: td * 1000, rate: bytesIn * 2 / td / 1e9, unit: "GB/s read", instruction: nil, peakFraction: nil))
            }
        }
        return reports
    }

    /// int8 weights (K, N) row-major → the packed layout of `emo_gemm_u8s8_packed` (K a multiple of 4).
    public static func packInt8(_ w: [Int8], k: Int, n: Int) -> [Int8] { packGrouped(w, k: k, n: n, group: 4) }

    /// bf16 weights (K, N) row-major → the packed layout of `emo_gemm_bf16_packed` (K even).
    public static func packBF16(_ w: [UInt16], k: Int, n: Int) -> [UInt16] { packGrouped(w, k: k, n: n, group: 2) }

    /// Packed as `ReducedConv3D` packs its weights (`ReducedConv3D.packedIndex`).
    static func packGrouped<T: FixedWidthInteger>(_ w: [T], k: Int, n: Int, group: Int) -> [T] {
        var out = [T](repeating: 0, count: (n + 31) / 32 * k * 32)
        for kk in 0..<k { for j in 0..<n { out[ReducedConv3D.packedIndex(kk, j, kGroups: k / group, group: group)] = w[kk * n + j] } }
        return out
    }
}
