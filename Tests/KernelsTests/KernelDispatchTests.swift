import CKernels
import Foundation
import Kernels
import Testing

/// The instruction-set versions of each micro-kernel against their plain references: fp32 and int8 must agree to the
/// bit (same operations in the same order / exact integers), bf16 with its definition (checked bitwise here too).
/// Every version this CPU can run is tested, whatever `EMOPIPE_KERNELS` says.
@Suite("Kernel dispatch: every ISA version against the plain reference")
struct KernelDispatchTests {
    static var fp32Sets: [Int32] { KernelDispatch.has(EMO_CPU_AVX512) ? [Int32(EMO_ISA_AVX2), Int32(EMO_ISA_AVX512)] : [Int32(EMO_ISA_AVX2)] }
    static var int8Sets: [Int32] { KernelDispatch.has(EMO_CPU_AVX512) && KernelDispatch.has(EMO_CPU_AVX512_VNNI) ? fp32Sets : [Int32(EMO_ISA_AVX2)] }
    static var bf16Sets: [Int32] { KernelDispatch.has(EMO_CPU_AVX512) && KernelDispatch.has(EMO_CPU_AVX512_BF16) ? fp32Sets : [Int32(EMO_ISA_AVX2)] }

    @Test("EMOPIPE_KERNELS=avx2 selects the AVX2 kernels; otherwise the best the CPU has")
    func selection() throws {
        try KernelDispatch.checkEnvironment()
        let forced = ProcessInfo.processInfo.environment[KernelDispatch.environmentVariable]?.lowercased() == "avx2"
        if forced || !KernelDispatch.has(EMO_CPU_AVX512) {
            #expect(KernelDispatch.f32 == Int32(EMO_ISA_AVX2) && KernelDispatch.int8 == Int32(EMO_ISA_AVX2) && KernelDispatch.bf16 == Int32(EMO_ISA_AVX2))
            #expect(KernelDispatch.summary.contains("avx2"))
        } else {
            #expect(KernelDispatch.f32 == Int32(EMO_ISA_AVX512))
            #expect(KernelDispatch.int8 == (KernelDispatch.has(EMO_CPU_AVX512_VNNI) ? Int32(EMO_ISA_AVX512) : Int32(EMO_ISA_AVX2)))
        }
        #expect(KernelDispatch.cpuSupported)
    }

    @Test("fp32 GEMM: each ISA bit-identical to the reference (edge tiles, half panels, K blocks, kOffset, accumulate)",
          arguments: [(1, 1, 1, 0), (12, 32, 5, 0), (13, 33, 7, 3), (25, 70, 513, 0), (7, 45, 147, 10), (50, 17, 1100, 0), (36, 144, 600, 40), (6, 16, 1025, 0)])
    func fp32(_ d: (Int, Int, Int, Int)) {
        let (m, n, k, offset) = d
        var rng = RandomSource(state: UInt64(m * 7919 + n * 31 + k))
        let kTotal = k + 2 * offset
        let a = rng.tensor([m, k + 3]), b = rng.tensor([kTotal, n]), c0 = rng.tensor([m, n + 2])
        let packed = PackedGEMM.packB(b.pointer, k: kTotal, n: n)
        let scratch = Tensor(zeros: [PackedGEMM.scratchCount(k: k)])
        for accumulate in [false, true] {
            let ref = c0.copy()
            PackedGEMM.reference(rows: m, n: n, k: k, a: a.pointer, lda: k + 3, packedB: packed.pointer, kOffset: offset, kTotal: kTotal,
                                 c: ref.pointer, ldc: n + 2, accumulate: accumulate)
            for isa in Self.fp32Sets {
                let c = c0.copy()
                PackedGEMM.multiply(rows: m, n: n, k: k, a: a.pointer, lda: k + 3, packedB: packed.pointer, kOffset: offset, kTotal: kTotal,
                                    c: c.pointer, ldc: n + 2, accumulate: accumulate, scratch: scratch.pointer, isa: isa)
                let same = (0..<c.count).allSatisfy { c[$0].bitPattern == ref[$0].bitPattern }
                #expect(same, "isa \(isa) M \(m) N \(n) K \(k) offset \(offset) accumulate \(accumulate)")
            }
        }
        // And the reference is the product (to float rounding).
        let c = Tensor(zeros: [m, n])
        PackedGEMM.reference(rows: m, n: n, k: k, a: a.pointer, lda: k + 3, packedB: packed.pointer, kOffset: offset, kTotal: kTotal,
                             c: c.pointer, ldc: n, accumulate: false)
        var worst: Double = 0
        for i in 0..<m { for j in 0..<n {
            var acc: Double = 0
            for q in 0..<k { acc += Double(a[i * (k + 3) + q]) * Double(b[(offset + q) * n + j]) }
            worst = max(worst, abs(acc - Double(c[i * n + j])))
        } }
        #expect(worst < 1e-3 * max(1, Double(k).squareRoot() / 10))
    }

    @Test("int8 GEMM: each ISA equals the exact integer product (edge tiles, half panels, K blocks, kOffset, accumulate)",
          arguments: [(1, 1, 4, 0), (12, 32, 8, 0), (13, 33, 12, 4), (25, 70, 516, 0), (7, 45, 148, 8), (3, 17, 2056, 0), (24, 144, 576, 64)])
    func int8(_ d: (Int, Int, Int, Int)) {
        let (m, n, k, offset) = d
        var rng = RandomSource(state: UInt64(m * 131 + n * 17 + k))
        let kTotal = k + 2 * offset, lda = k + 4, ldc = n + 1
        let a = (0..<(m * lda)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        var w = (0..<(kTotal * n)).map { _ in Int8(truncatingIfNeeded: rng.next()) }
        w[0] = -128; w[w.count - 1] = 127   // the extremes
        let packed = KernelHarness.packInt8(w, k: kTotal, n: n)
        let c0 = (0..<(m * ldc)).map { _ in Int32(truncatingIfNeeded: rng.next() % 1000) }
        for accumulate in [false, true] {
            var ref = c0
            for i in 0..<m { for j in 0..<n {
                var s: Int32 = accumulate ? c0[i * ldc + j] : 0
                for q in 0..<k { s &+= Int32(a[i * lda + q]) * Int32(w[(offset + q) * n + j]) }
                ref[i * ldc + j] = s
            } }
            for isa in Self.int8Sets {
                var c = c0, scratch = [UInt8](repeating: 0, count: PackedGEMM.mr * k)
                emo_gemm_u8s8_packed(isa, m, n, k, a, lda, packed, offset, kTotal, &c, ldc, accumulate ? 1 : 0, &scratch)
                #expect(c == ref, "isa \(isa) M \(m) N \(n) K \(k) accumulate \(accumulate)")
            }
        }
    }

    @Test("bf16 GEMM: each ISA bit-identical to the definition ((acc + a₁b₁) + a₀b₀ per pair, fp32 sums, K blocks of 1024)",
          arguments: [(1, 1, 2, 0), (12, 32, 6, 0), (13, 33, 10, 2), (25, 70, 514, 0), (7, 45, 146, 4), (5, 17, 2050, 0)])
    func bf16(_ d: (Int, Int, Int, Int)) {
        let (m, n, k, offset) = d
        var rng = RandomSource(state: UInt64(m * 37 + n * 101 + k))
        let kTotal = k + 2 * offset, lda = k + 2, ldc = n + 3
        let a = (0..<(m * lda)).map { _ in ReducedConv3D.bf16(rng.uniform()) }
        let w = (0..<(kTotal * n)).map { _ in ReducedConv3D.bf16(rng.uniform()) }
        let packed = KernelHarness.packBF16(w, k: kTotal, n: n)
        let c0 = (0..<(m * ldc)).map { _ in rng.uniform() }
        let kc = Int(EMO_BF16_KC)
        for accumulate in [false, true] {
            var ref = c0
            for i in 0..<m { for j in 0..<n {
                var k0 = 0
                while k0 < k {
                    var s: Float = 0
                    for q in stride(from: k0, to: min(k, k0 + kc), by: 2) {
                        s = s + ReducedConv3D.float(bf16: a[i * lda + q + 1]) * ReducedConv3D.float(bf16: w[(offset + q + 1) * n + j])
                        s = s + ReducedConv3D.float(bf16: a[i * lda + q]) * ReducedConv3D.float(bf16: w[(offset + q) * n + j])
                    }
                    ref[i * ldc + j] = (accumulate || k0 > 0) ? s + ref[i * ldc + j] : s
                    k0 += kc
                }
            } }
            for isa in Self.bf16Sets {
                var c = c0, scratch = [UInt16](repeating: 0, count: PackedGEMM.mr * k)
                emo_gemm_bf16_packed(isa, m, n, k, a, lda, packed, offset, kTotal, &c, ldc, accumulate ? 1 : 0, &scratch)
                let same = (0..<c.count).allSatisfy { c[$0].bitPattern == ref[$0].bitPattern }
                #expect(same, "isa \(isa) M \(m) N \(n) K \(k) accumulate \(accumulate)")
            }
        }
    }

    @Test("Conversions (max, u8 quantization, bf16 rounding, int8 epilogue): each ISA identical to its reference",
          arguments: [(1, 1), (3, 5), (7, 16), (11, 45), (2, 67)])
    func conversions(_ d: (Int, Int)) {
        let (rows, cols) = d
        var rng = RandomSource(state: UInt64(rows * 1000 + cols))
        let x = (0..<(rows * cols)).map { i -> Float in
            switch i % 11 { case 3: return 0; case 5: return Float(bitPattern: 0x0000_0400); default: return abs(rng.uniform()) * 3 }
        }
        let stride4 = (cols + 3) / 4 * 4, stride2 = (cols + 1) / 2 * 2
        let inverse: Float = 255 / 2.5   // some values saturate at 255
        let refMax = x.max()!
        let refQ: [UInt8] = (0..<(rows * stride4)).map { i in
            let c = i % stride4; guard c < cols else { return 0 }
            return UInt8(max(0, min(255, (x[(i / stride4) * cols + c] * inverse).rounded(.toNearestOrEven))))
        }
        let refB: [UInt16] = (0..<(rows * stride2)).map { i in let c = i % stride2; return c < cols ? ReducedConv3D.bf16(x[(i / stride2) * cols + c]) : 0 }
        let acc = (0..<(rows * cols)).map { _ in Int32(truncatingIfNeeded: rng.next() % 2_000_001) - 1_000_000 }
        let colScale = (0..<cols).map { _ in abs(rng.uniform()) * 1e-4 }, bias = (0..<cols).map { _ in rng.uniform() }
        let residual = (0..<(rows * cols)).map { _ in rng.uniform() }
        for relu in [false, true] {
            for withResidual in [false, true] {
                let refD: [Float] = (0..<(rows * cols)).map { i in
                    let c = i % cols
                    var v = Float(acc[i]) * (Float(0.5) * colScale[c]) + bias[c]
                    if withResidual { v = v + residual[i] }
                    return relu ? (v > 0 ? v : 0) : v
                }
                for isa in Self.fp32Sets {
                    var buf = [Float](repeating: 0, count: rows * cols)
                    buf.withUnsafeMutableBytes { raw in
                        raw.baseAddress!.copyMemory(from: acc, byteCount: acc.count * 4)
                        residual.withUnsafeBufferPointer { r in
                            emo_dequantize(isa, raw.baseAddress!, rows, cols, cols, 0.5, colScale, bias, withResidual ? r.baseAddress : nil, relu ? 1 : 0)
                        }
                    }
                    #expect((0..<buf.count).allSatisfy { buf[$0].bitPattern == refD[$0].bitPattern }, "dequantize isa \(isa) relu \(relu) residual \(withResidual)")
                }
            }
        }
        for isa in Self.fp32Sets {
            #expect(emo_max_f32(isa, x, x.count) == refMax)
            var q = [UInt8](repeating: 9, count: rows * stride4)
            emo_quantize_u8(isa, x, rows, cols, inverse, &q, stride4)
            #expect(q == refQ, "quantize isa \(isa)")
        }
        for isa in Self.bf16Sets {
            var h = [UInt16](repeating: 9, count: rows * stride2)
            emo_convert_bf16(isa, x, rows, cols, &h, stride2)
            #expect(h == refB, "bf16 isa \(isa)")
        }
    }
}
