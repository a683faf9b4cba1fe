import CKernels

/// A matrix product specialised for convolutions: C[M×N] (+)= A[M×K] · B[K×N], where B (the weights) is packed once
/// at load time into the layout the micro-kernels read with unit stride, and A is read in place (any row stride): an
/// im2col tile, or the activations themselves for 1×1×1 and temporal convolutions.
///
/// The micro-kernels are C functions compiled per instruction set (`Sources/CKernels/gemm_f32.c`): AVX-512 12×32
/// (24 zmm accumulators, `vfmadd231ps zmm` with a broadcast operand) or AVX2 6×16, chosen at run time
/// (`KernelDispatch`). Both compute each element of C as one FMA chain per K block of `kc` (k ascending, from +0),
/// then one addition to C — exactly what `reference` below does, so all three agree to the bit.
///
/// Packed B: for each panel of `nr` = 32 columns (N padded with zeros to a multiple of 32), K rows of 32 floats.
public enum PackedGEMM {
    public static let mr = 12
    public static let nr = 32
    /// K block: a kc × 32 slice of a B panel and a 12 × kc slice of A are the working set of one micro-kernel call.
    public static let kc = Int(EMO_F32_KC)

    /// Packs a row-major (K, N) matrix into 32-column panels, zero-padded.
    public static func packB(_ b: UnsafePointer<Float>, k: Int, n: Int) -> Tensor {
        let panels = (n + nr - 1) / nr
        let out = Tensor(zeros: [panels * k * nr])
        let p = out.pointer
        for j in 0..<panels {
            let cols = min(nr, n - j * nr)
            for kk in 0..<k {
                (p + (j * k + kk) * nr).update(from: b + kk * n + j * nr, count: cols)
            }
        }
        return out
    }

    /// Floats of scratch `multiply` needs for depth `k` (a zero-padded copy of a partial 12-row block of A).
    @inline(__always) public static func scratchCount(k: Int) -> Int { mr * k }

    /// C[rows × n] (+)= A[rows × k] · B[kOffset ..< kOffset + k, 0 ..< n], single-threaded.
    /// - a: row stride `lda`; c: row stride `ldc`;
    /// - packedB: `packB` of a matrix with `kTotal` rows; `kOffset` selects a block of its rows (e.g. one temporal tap);
    /// - accumulate: add to C instead of overwriting it;
    /// - scratch: `scratchCount(k:)` floats.
    @inline(__always)
    public static func multiply(rows: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
                                packedB: UnsafePointer<Float>, kOffset: Int = 0, kTotal: Int,
                                c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool, scratch: UnsafeMutablePointer<Float>,
                                isa: Int32 = KernelDispatch.f32) {
        emo_sgemm_packed(isa, rows, n, k, a, lda, packedB, kOffset, kTotal, c, ldc, accumulate ? 1 : 0, scratch)
    }

    /// The plain reference of `multiply`: the same arithmetic, element by element (llm.c style: slow and obvious).
    /// Every element of C is an FMA chain over each K block of `kc` in ascending k, starting from +0, then added to C
    /// once (or stored, for the first block when not accumulating).
    public static func reference(rows: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
                                 packedB: UnsafePointer<Float>, kOffset: Int = 0, kTotal: Int,
                                 c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool) {
        for i in 0..<rows {
            for j in 0..<n {
                let b = packedB + (j / nr) * kTotal * nr + j % nr   // B[kk, j] = b[kk * nr]
                var k0 = 0
                while k0 < k {
                    let depth = min(kc, k - k0)
                    var sum: Float = 0
                    for q in k0..<(k0 + depth) { sum = sum.addingProduct(a[i * lda + q], b[(kOffset + q) * nr]) }
                    c[i * ldc + j] = (accumulate || k0 > 0) ? sum + c[i * ldc + j] : sum
                    k0 += depth
                }
            }
        }
    }
}
