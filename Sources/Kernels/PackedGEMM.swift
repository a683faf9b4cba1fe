/// A matrix product specialised for convolutions: C[M×N] (+)= A[M×K] · B[K×N], where B (the weights) is packed once
/// at load time into the layout the AVX-512 micro-kernel reads with unit stride, and A is read in place (any row
/// stride): an im2col tile, or the activations themselves for 1×1×1 and temporal convolutions. Written in Swift with
/// `SIMD16<Float>`, which compiles to `vbroadcastss` + `vfmadd231ps zmm` under `-target-cpu native` (numeric targets
/// are always built that way).
///
/// Packed B: for each panel of `NR` = 32 columns (N padded with zeros to a multiple of 32), K rows of 32 floats.
/// The micro-kernel computes a 12 × 32 block of C with 24 vector accumulators.
public enum PackedGEMM {
    public static let mr = 12
    public static let nr = 32
    /// K block: a kc × 32 slice of a B panel and a 12 × kc slice of A are the working set of one micro-kernel call.
    public static let kc = 512

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
    public static func multiply(rows: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
                                packedB: UnsafePointer<Float>, kOffset: Int = 0, kTotal: Int,
                                c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool, scratch: UnsafeMutablePointer<Float>) {
        guard rows > 0, n > 0 else { return }
        let panels = (n + nr - 1) / nr, fullTiles = rows / mr, rest = rows - fullTiles * mr
        if rest > 0 {
            // The last, partial block of rows: a zero-padded copy, so the micro-kernel always reads 12 rows.
            for r in 0..<mr {
                let dst = scratch + r &* k
                if r < rest { dst.update(from: a + (fullTiles &* mr &+ r) &* lda, count: k) } else { dst.initialize(repeating: 0, count: k) }
            }
        }
        var edge = (SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(),
                    SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(),
                    SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(),
                    SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>())
        withUnsafeMutableBytes(of: &edge) { raw in
            let temp = raw.baseAddress!.assumingMemoryBound(to: Float.self)   // 12 × 32 block of C
            var k0 = 0
            while k0 < k {
                let depth = min(kc, k &- k0)
                let acc = accumulate || k0 > 0
                for j in 0..<panels {
                    let b = packedB + (j &* kTotal &+ kOffset &+ k0) &* nr
                    let cols = min(nr, n &- j &* nr)
                    for t in 0...fullTiles where t < fullTiles || rest > 0 {
                        let full = t < fullTiles
                        let aTile = full ? a + (t &* mr &* lda &+ k0) : UnsafePointer(scratch + k0)
                        let ldaTile = full ? lda : k
                        let rowsHere = full ? mr : rest
                        let cTile = c + (t &* mr &* ldc &+ j &* nr)
                        if rowsHere == mr && cols == nr {
                            kernel(depth, aTile, ldaTile, b, cTile, ldc, acc)
                        } else if rowsHere == mr && cols == 16 {
                            kernelHalf(depth, aTile, ldaTile, b, cTile, ldc, acc)
                        } else {
                            if cols <= 16 {
                                kernelHalf(depth, aTile, ldaTile, b, temp, nr, false)
                            } else {
                                kernel(depth, aTile, ldaTile, b, temp, nr, false)
                            }
                            for r in 0..<rowsHere {
                                let dst = cTile + r &* ldc, src = temp + r &* nr
                                if acc { for q in 0..<cols { dst[q] += src[q] } } else { for q in 0..<cols { dst[q] = src[q] } }
                            }
                        }
                    }
                }
                k0 &+= depth
            }
        }
    }

    /// The 12×32 micro-kernel: 24 accumulators of 16 floats; per k, two B vectors and one broadcast per row of A.
    @inline(__always)
    static func kernel(_ depth: Int, _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ accumulate: Bool) {
        var c0_0 = SIMD16<Float>(), c0_1 = SIMD16<Float>()
        var c1_0 = SIMD16<Float>(), c1_1 = SIMD16<Float>()
        var c2_0 = SIMD16<Float>(), c2_1 = SIMD16<Float>()
        var c3_0 = SIMD16<Float>(), c3_1 = SIMD16<Float>()
        var c4_0 = SIMD16<Float>(), c4_1 = SIMD16<Float>()
        var c5_0 = SIMD16<Float>(), c5_1 = SIMD16<Float>()
        var c6_0 = SIMD16<Float>(), c6_1 = SIMD16<Float>()
        var c7_0 = SIMD16<Float>(), c7_1 = SIMD16<Float>()
        var c8_0 = SIMD16<Float>(), c8_1 = SIMD16<Float>()
        var c9_0 = SIMD16<Float>(), c9_1 = SIMD16<Float>()
        var c10_0 = SIMD16<Float>(), c10_1 = SIMD16<Float>()
        var c11_0 = SIMD16<Float>(), c11_1 = SIMD16<Float>()
        let a0p = a, a4p = a + 4 &* lda, a8p = a + 8 &* lda
        var bp = UnsafeRawPointer(b)
        for q in 0..<depth {
            let b0 = bp.load(fromByteOffset: 0, as: SIMD16<Float>.self), b1 = bp.load(fromByteOffset: 64, as: SIMD16<Float>.self)
            let a0 = SIMD16<Float>(repeating: a0p[q]); c0_0.addProduct(a0, b0); c0_1.addProduct(a0, b1)
            let a1 = SIMD16<Float>(repeating: a0p[q &+ 1 &* lda]); c1_0.addProduct(a1, b0); c1_1.addProduct(a1, b1)
            let a2 = SIMD16<Float>(repeating: a0p[q &+ 2 &* lda]); c2_0.addProduct(a2, b0); c2_1.addProduct(a2, b1)
            let a3 = SIMD16<Float>(repeating: a0p[q &+ 3 &* lda]); c3_0.addProduct(a3, b0); c3_1.addProduct(a3, b1)
            let a4 = SIMD16<Float>(repeating: a4p[q]); c4_0.addProduct(a4, b0); c4_1.addProduct(a4, b1)
            let a5 = SIMD16<Float>(repeating: a4p[q &+ 1 &* lda]); c5_0.addProduct(a5, b0); c5_1.addProduct(a5, b1)
            let a6 = SIMD16<Float>(repeating: a4p[q &+ 2 &* lda]); c6_0.addProduct(a6, b0); c6_1.addProduct(a6, b1)
            let a7 = SIMD16<Float>(repeating: a4p[q &+ 3 &* lda]); c7_0.addProduct(a7, b0); c7_1.addProduct(a7, b1)
            let a8 = SIMD16<Float>(repeating: a8p[q]); c8_0.addProduct(a8, b0); c8_1.addProduct(a8, b1)
            let a9 = SIMD16<Float>(repeating: a8p[q &+ 1 &* lda]); c9_0.addProduct(a9, b0); c9_1.addProduct(a9, b1)
            let a10 = SIMD16<Float>(repeating: a8p[q &+ 2 &* lda]); c10_0.addProduct(a10, b0); c10_1.addProduct(a10, b1)
            let a11 = SIMD16<Float>(repeating: a8p[q &+ 3 &* lda]); c11_0.addProduct(a11, b0); c11_1.addProduct(a11, b1)
            bp += 128
        }
        let cp = UnsafeMutableRawPointer(c)
        if accumulate {
            c0_0 += cp.loadUnaligned(fromByteOffset: (0 &* ldc &+ 0) &* 4, as: SIMD16<Float>.self); c0_1 += cp.loadUnaligned(fromByteOffset: (0 &* ldc &+ 16) &* 4, as: SIMD16<Float>.self)
            c1_0 += cp.loadUnaligned(fromByteOffset: (1 &* ldc &+ 0) &* 4, as: SIMD16<Float>.self); c1_1 += cp.loadUnaligned(fromByteOffset: (1 &* ldc &+ 16) &* 4, as: SIMD16<Float>.self)
            c2_0 += cp.loadUnaligned(fromByteOffset: (2 &* ldc &+ 0) &* 4, as: SIMD16<Float>.self); c2_1 += cp.loadUnaligned(fromByteOffset: (2 &* ldc &+ 16) &* 4, as: SIMD16<Float>.self)
            c3_0 += cp.loadUnaligned(fromByteOffset: (3 &* ldc &+ 0) &* 4, as: SIMD16<Float>.self); c3_1 += cp.loadUnaligned(fromByteOffset: (3 &* ldc &+ 16) &* 4, as: SIMD16<Float>.self)
            c4_0 += cp.loadUnaligned(fromByteOffset: (4 &* ldc &+ 0) &* 4, as: SIMD16<Float>.self); c4_1 += cp.loadUnaligned(fromByteOffset: (4 &* ldc &+ 16) &* 4, as: SIMD16<Float>.self)
            c5_0 += cp.loadUnaligned(fromByteOffset: (5 &* ldc &+ 0) &* 4, as: SIMD16<Float>.self); c5_1 += cp.loadUnaligned(fromByteOffset: (5 &* ldc &+ 16) &* 4, as: SIMD16<Float>.self)
            c6_0 += cp.loadUnaligned(fromByteOffset: (6 &* ldc &+ 0) &* 4, as: SIMD16<Float>.self); c6_1 += cp.loadUnaligned(fromByteOffset: (6 &* ldc &+ 16) &* 4, as: SIMD16<Float>.self)
            c7_0 += cp.loadUnaligned(fromByteOffset: (7 &* ldc &+ 0) &* 4, as: SIMD16<Float>.self); c7_1 += cp.loadUnaligned(fromByteOffset: (7 &* ldc &+ 16) &* 4, as: SIMD16<Float>.self)
            c8_0 += cp.loadUnaligned(fromByteOffset: (8 &* ldc &+ 0) &* 4, as: SIMD16<Float>.self); c8_1 += cp.loadUnaligned(fromByteOffset: (8 &* ldc &+ 16) &* 4, as: SIMD16<Float>.self)
            c9_0 += cp.loadUnaligned(fromByteOffset: (9 &* ldc &+ 0) &* 4, as: SIMD16<Float>.self); c9_1 += cp.loadUnaligned(fromByteOffset: (9 &* ldc &+ 16) &* 4, as: SIMD16<Float>.self)
            c10_0 += cp.loadUnaligned(fromByteOffset: (10 &* ldc &+ 0) &* 4, as: SIMD16<Float>.self); c10_1 += cp.loadUnaligned(fromByteOffset: (10 &* ldc &+ 16) &* 4, as: SIMD16<Float>.self)
            c11_0 += cp.loadUnaligned(fromByteOffset: (11 &* ldc &+ 0) &* 4, as: SIMD16<Float>.self); c11_1 += cp.loadUnaligned(fromByteOffset: (11 &* ldc &+ 16) &* 4, as: SIMD16<Float>.self)
        }
        cp.storeBytes(of: c0_0, toByteOffset: (0 &* ldc &+ 0) &* 4, as: SIMD16<Float>.self); cp.storeBytes(of: c0_1, toByteOffset: (0 &* ldc &+ 16) &* 4, as: SIMD16<Float>.self)
        cp.storeBytes(of: c1_0, toByteOffset: (1 &* ldc &+ 0) &* 4, as: SIMD16<Float>.self); cp.storeBytes(of: c1_1, toByteOffset: (1 &* ldc &+ 16) &* 4, as: SIMD16<Float>.self)
        cp.storeBytes(of: c2_0, toByteOffset: (2 &* ldc &+ 0) &* 4, as: SIMD16<Float>.self); cp.storeBytes(of: c2_1, toByteOffset: (2 &* ldc &+ 16) &* 4, as: SIMD16<Float>.self)
        cp.storeBytes(of: c3_0, toByteOffset: (3 &* ldc &+ 0) &* 4, as: SIMD16<Float>.self); cp.storeBytes(of: c3_1, toByteOffset: (3 &* ldc &+ 16) &* 4, as: SIMD16<Float>.self)
        cp.storeBytes(of: c4_0, toByteOffset: (4 &* ldc &+ 0) &* 4, as: SIMD16<Float>.self); cp.storeBytes(of: c4_1, toByteOffset: (4 &* ldc &+ 16) &* 4, as: SIMD16<Float>.self)
        cp.storeBytes(of: c5_0, toByteOffset: (5 &* ldc &+ 0) &* 4, as: SIMD16<Float>.self); cp.storeBytes(of: c5_1, toByteOffset: (5 &* ldc &+ 16) &* 4, as: SIMD16<Float>.self)
        cp.storeBytes(of: c6_0, toByteOffset: (6 &* ldc &+ 0) &* 4, as: SIMD16<Float>.self); cp.storeBytes(of: c6_1, toByteOffset: (6 &* ldc &+ 16) &* 4, as: SIMD16<Float>.self)
        cp.storeBytes(of: c7_0, toByteOffset: (7 &* ldc &+ 0) &* 4, as: SIMD16<Float>.self); cp.storeBytes(of: c7_1, toByteOffset: (7 &* ldc &+ 16) &* 4, as: SIMD16<Float>.self)
        cp.storeBytes(of: c8_0, toByteOffset: (8 &* ldc &+ 0) &* 4, as: SIMD16<Float>.self); cp.storeBytes(of: c8_1, toByteOffset: (8 &* ldc &+ 16) &* 4, as: SIMD16<Float>.self)
        cp.storeBytes(of: c9_0, toByteOffset: (9 &* ldc &+ 0) &* 4, as: SIMD16<Float>.self); cp.storeBytes(of: c9_1, toByteOffset: (9 &* ldc &+ 16) &* 4, as: SIMD16<Float>.self)
        cp.storeBytes(of: c10_0, toByteOffset: (10 &* ldc &+ 0) &* 4, as: SIMD16<Float>.self); cp.storeBytes(of: c10_1, toByteOffset: (10 &* ldc &+ 16) &* 4, as: SIMD16<Float>.self)
        cp.storeBytes(of: c11_0, toByteOffset: (11 &* ldc &+ 0) &* 4, as: SIMD16<Float>.self); cp.storeBytes(of: c11_1, toByteOffset: (11 &* ldc &+ 16) &* 4, as: SIMD16<Float>.self)
    }

    /// The 12×16 variant for a last panel with at most 16 real columns (reads the first half of each packed row).
    @inline(__always)
    static func kernelHalf(_ depth: Int, _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ accumulate: Bool) {
        var c0 = SIMD16<Float>()
        var c1 = SIMD16<Float>()
        var c2 = SIMD16<Float>()
        var c3 = SIMD16<Float>()
        var c4 = SIMD16<Float>()
        var c5 = SIMD16<Float>()
        var c6 = SIMD16<Float>()
        var c7 = SIMD16<Float>()
        var c8 = SIMD16<Float>()
        var c9 = SIMD16<Float>()
        var c10 = SIMD16<Float>()
        var c11 = SIMD16<Float>()
        let a0p = a, a4p = a + 4 &* lda, a8p = a + 8 &* lda
        var bp = UnsafeRawPointer(b)
        for q in 0..<depth {
            let b0 = bp.load(as: SIMD16<Float>.self)
            c0.addProduct(SIMD16<Float>(repeating: a0p[q]), b0)
            c1.addProduct(SIMD16<Float>(repeating: a0p[q &+ 1 &* lda]), b0)
            c2.addProduct(SIMD16<Float>(repeating: a0p[q &+ 2 &* lda]), b0)
            c3.addProduct(SIMD16<Float>(repeating: a0p[q &+ 3 &* lda]), b0)
            c4.addProduct(SIMD16<Float>(repeating: a4p[q]), b0)
            c5.addProduct(SIMD16<Float>(repeating: a4p[q &+ 1 &* lda]), b0)
            c6.addProduct(SIMD16<Float>(repeating: a4p[q &+ 2 &* lda]), b0)
            c7.addProduct(SIMD16<Float>(repeating: a4p[q &+ 3 &* lda]), b0)
            c8.addProduct(SIMD16<Float>(repeating: a8p[q]), b0)
            c9.addProduct(SIMD16<Float>(repeating: a8p[q &+ 1 &* lda]), b0)
            c10.addProduct(SIMD16<Float>(repeating: a8p[q &+ 2 &* lda]), b0)
            c11.addProduct(SIMD16<Float>(repeating: a8p[q &+ 3 &* lda]), b0)
            bp += 128
        }
        let cp = UnsafeMutableRawPointer(c)
        if accumulate {
            c0 += cp.loadUnaligned(fromByteOffset: 0 &* ldc &* 4, as: SIMD16<Float>.self)
            c1 += cp.loadUnaligned(fromByteOffset: 1 &* ldc &* 4, as: SIMD16<Float>.self)
            c2 += cp.loadUnaligned(fromByteOffset: 2 &* ldc &* 4, as: SIMD16<Float>.self)
            c3 += cp.loadUnaligned(fromByteOffset: 3 &* ldc &* 4, as: SIMD16<Float>.self)
            c4 += cp.loadUnaligned(fromByteOffset: 4 &* ldc &* 4, as: SIMD16<Float>.self)
            c5 += cp.loadUnaligned(fromByteOffset: 5 &* ldc &* 4, as: SIMD16<Float>.self)
            c6 += cp.loadUnaligned(fromByteOffset: 6 &* ldc &* 4, as: SIMD16<Float>.self)
            c7 += cp.loadUnaligned(fromByteOffset: 7 &* ldc &* 4, as: SIMD16<Float>.self)
            c8 += cp.loadUnaligned(fromByteOffset: 8 &* ldc &* 4, as: SIMD16<Float>.self)
            c9 += cp.loadUnaligned(fromByteOffset: 9 &* ldc &* 4, as: SIMD16<Float>.self)
            c10 += cp.loadUnaligned(fromByteOffset: 10 &* ldc &* 4, as: SIMD16<Float>.self)
            c11 += cp.loadUnaligned(fromByteOffset: 11 &* ldc &* 4, as: SIMD16<Float>.self)
        }
        cp.storeBytes(of: c0, toByteOffset: 0 &* ldc &* 4, as: SIMD16<Float>.self)
        cp.storeBytes(of: c1, toByteOffset: 1 &* ldc &* 4, as: SIMD16<Float>.self)
        cp.storeBytes(of: c2, toByteOffset: 2 &* ldc &* 4, as: SIMD16<Float>.self)
        cp.storeBytes(of: c3, toByteOffset: 3 &* ldc &* 4, as: SIMD16<Float>.self)
        cp.storeBytes(of: c4, toByteOffset: 4 &* ldc &* 4, as: SIMD16<Float>.self)
        cp.storeBytes(of: c5, toByteOffset: 5 &* ldc &* 4, as: SIMD16<Float>.self)
        cp.storeBytes(of: c6, toByteOffset: 6 &* ldc &* 4, as: SIMD16<Float>.self)
        cp.storeBytes(of: c7, toByteOffset: 7 &* ldc &* 4, as: SIMD16<Float>.self)
        cp.storeBytes(of: c8, toByteOffset: 8 &* ldc &* 4, as: SIMD16<Float>.self)
        cp.storeBytes(of: c9, toByteOffset: 9 &* ldc &* 4, as: SIMD16<Float>.self)
        cp.storeBytes(of: c10, toByteOffset: 10 &* ldc &* 4, as: SIMD16<Float>.self)
        cp.storeBytes(of: c11, toByteOffset: 11 &* ldc &* 4, as: SIMD16<Float>.self)
    }
}
