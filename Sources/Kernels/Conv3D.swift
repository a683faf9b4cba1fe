/// A 3-D convolution (optionally with BatchNorm folded in) on channels-last activations, computed as GEMMs
/// (output positions × K) · (K × C_out) with K = kT·kH·kW·C_in, on `PackedGEMM`'s AVX-512 micro-kernel.
///
/// The weights are packed once at load time. A forward splits the output positions into row tiles; each worker (up to
/// the `threads` the call passes) takes the next unclaimed tile and finishes it completely — GEMM, then bias (+ residual) and
/// ReLU while the tile's output is still in cache. How the tile's A matrix is formed depends on the geometry:
/// - pointwise (1×1×1, stride 1): A is the input rows themselves;
/// - temporal (kT×1×1, stride 1, "same" padding in T): shifted GEMMs — tap dt of output frame t reads input frame
///   t+dt−pT, a contiguous block of channels-last rows, so A is the input at an offset and the taps accumulate;
/// - anything else: a tile of im2col rows (contiguous copies of C_in·kW floats) in the worker's scratch.
/// Nothing is allocated once the scratch buffer has grown to its largest size.
public final class Conv3D: @unchecked Sendable {
    public let geometry: ConvGeometry
    /// `PackedGEMM.packB` of the (K, C_out) weight matrix, K ordered (dt, dh, dw, c_in).
    public let packedWeight: Tensor
    /// (C_out)
    public let bias: Tensor

    /// Target floats of one K block of a tile's A (256 KB: it stays in L2 while every weight panel passes over it).
    public static let tileFloats = 1 << 16
    /// Tile height bounds in rows (multiples of the micro-kernel's 12).
    public static let minTileRows = 24, maxTileRows = 240

    /// - Parameters:
    ///   - weight: PyTorch layout (C_out, C_in, kT, kH, kW), or (C_out, C_in, kH, kW) for a 2-D convolution.
    ///   - bias: (C_out) or nil.
    ///   - batchNorm: folded into weight and bias when given.
    public init(weight: Tensor, bias: Tensor? = nil, batchNorm: BatchNormParameters? = nil,
                stride: (Int, Int, Int) = (1, 1, 1), padding: (Int, Int, Int) = (0, 0, 0)) {
        precondition(weight.rank == 5 || weight.rank == 4, "convolution weight must be 4-D or 5-D, got \(weight.shape)")
        let s = weight.shape
        let (cout, cin) = (s[0], s[1])
        let (kt, kh, kw) = weight.rank == 5 ? (s[2], s[3], s[4]) : (1, s[2], s[3])
        let g = ConvGeometry(inChannels: cin, outChannels: cout, kernel: (kt, kh, kw), stride: stride, padding: padding)
        geometry = g
        if let bias { precondition(bias.count == cout, "bias has \(bias.count) values for \(cout) output channels") }
        if let batchNorm { precondition(batchNorm.channels == cout, "BatchNorm has \(batchNorm.channels) channels, convolution \(cout)") }
        let (scale, shift) = batchNorm?.scaleAndShift ?? ([Float](repeating: 1, count: cout), [Float](repeating: 0, count: cout))
        let taps = kt * kh * kw
        let packed = Tensor(zeros: [g.k, cout])
        let w = weight.data, p = packed.data
        for co in 0..<cout {
            for ci in 0..<cin {
                for tap in 0..<taps {
                    p[(tap * cin + ci) * cout + co] = w[(co * cin + ci) * taps + tap] * scale[co]
                }
            }
        }
        packedWeight = PackedGEMM.packB(packed.pointer, k: g.k, n: cout)
        let b = Tensor(zeros: [cout])
        for co in 0..<cout {
            let raw = bias?.data[co] ?? 0
            b.data[co] = batchNorm == nil ? raw : raw * scale[co] + shift[co]
        }
        self.bias = b
        if kt == 1 && kh == 1 && kw == 1 && stride == (1, 1, 1) && padding == (0, 0, 0) {
            path = .pointwise
        } else if kh == 1 && kw == 1 && stride == (1, 1, 1) && padding.1 == 0 && padding.2 == 0 && 2 * padding.0 == kt - 1 {
            path = .temporal
        } else {
            path = .im2col
        }
    }

    public enum Path: Sendable { case pointwise, temporal, im2col }
    /// How A is formed (see the type's documentation).
    public let path: Path

    public func outputShape(_ s: ActivationShape) -> ActivationShape? {
        guard s.c == geometry.inChannels else { return nil }
        return geometry.outputShape(s)
    }

    /// Multiply-adds × 2 for one forward over `s`.
    public func flops(_ s: ActivationShape) -> Double {
        guard let o = outputShape(s) else { return 0 }
        return 2 * Double(o.positions) * Double(geometry.k) * Double(geometry.outChannels)
    }

    /// The tile height before evening out: as many rows as keep one K block of A in L2 (the GEMM walks K in blocks of
    /// `PackedGEMM.kc`, so what must stay in L2 is tileRows × min(K, kc)), a multiple of the micro-kernel's rows.
    static func baseTileRows(k: Int) -> Int {
        let mr = PackedGEMM.mr
        return min(maxTileRows, max(minTileRows, tileFloats / min(k, PackedGEMM.kc) / mr * mr))
    }

    /// Tile height and tile count for `rows` output rows shared by `workers` workers (at most one per row: more would
    /// idle, and a huge count would overflow the arithmetic).
    func tiling(rows: Int, workers: Int) -> (tileRows: Int, tiles: Int) {
        let mr = PackedGEMM.mr, workers = max(1, min(workers, rows))
        var tileRows = Self.baseTileRows(k: geometry.k)
        var tiles = (rows + tileRows - 1) / tileRows
        if workers > 1 && tiles % workers != 0 && tiles < 8 * workers {
            // Few tiles: even them out so no worker idles at the end.
            tiles = (tiles + workers - 1) / workers * workers
            tileRows = max(mr, ((rows + tiles - 1) / tiles + mr - 1) / mr * mr)
            tiles = (rows + tileRows - 1) / tileRows
        }
        return (tileRows, tiles)
    }

    /// Row tiles covering `ranges` of output rows (each range cut into tiles of at most `tileRows`), or the plain
    /// tiling of all `rows` when `ranges` is nil.
    func tiles(rows: Int, ranges: [Range<Int>]?, workers: Int) -> RowTiles {
        guard let ranges else {
            let (t, n) = tiling(rows: rows, workers: workers)
            return RowTiles(tileRows: t, count: n, rows: rows, starts: nil)
        }
        let total = ranges.reduce(0) { $0 + $1.count }
        let tileRows = tiling(rows: max(total, 1), workers: workers).tileRows
        var starts: [(Int, Int)] = []
        for r in ranges {
            var r0 = r.lowerBound
            while r0 < r.upperBound { let m = min(tileRows, r.upperBound - r0); starts.append((r0, m)); r0 += m }
        }
        return RowTiles(tileRows: tileRows, count: starts.count, rows: rows, starts: starts)
    }

    /// y = act(conv(x) + bias (+ residual)); `y` and `residual` have the output shape, channels-last.
    /// `y` must not overlap `x` or `residual`. Uses up to `threads` workers (the result does not depend on how many:
    /// every output row is computed the same way whichever tile holds it). Returns the output shape.
    /// `rows`: compute only these output rows (positions), leaving the others of `y` untouched; each computed row is
    /// the same, to the bit, as in a forward over all rows (for the same reason).
    @discardableResult
    public func forward(_ x: UnsafePointer<Float>, _ s: ActivationShape, into y: UnsafeMutablePointer<Float>,
                        residual: UnsafePointer<Float>? = nil, relu: Bool, scratch: ScratchBuffer,
                        threads: Int, rows selected: [Range<Int>]? = nil) -> ActivationShape {
        guard let o = outputShape(s) else { preconditionFailure("\(geometry) cannot take input \(s)") }
        let g = geometry, cout = g.outChannels, k = g.k, rows = o.positions
        // More workers than rows would idle (and a huge count would overflow the tiling arithmetic).
        let threads = max(1, min(threads, rows))
        let tiles = self.tiles(rows: rows, ranges: selected, workers: threads)
        let workers = max(1, min(threads, tiles.count))
        let patchFloats = path == .im2col ? tiles.tileRows * k : 0
        let perWorker = patchFloats + PackedGEMM.scratchCount(k: k)
        let buffers = scratch.reserve(workers * perWorker)
        let w = UnsafePointer(packedWeight.pointer), b = UnsafePointer(bias.pointer)
        let cin = g.inChannels, frame = s.h * s.w
        Parallelism.forEachIndex(tiles.count, workers: workers) { worker, tile in
            let patches = buffers + worker * perWorker, edge = patches + patchFloats
            let (r0, m) = tiles.rows(of: tile)
            let out = y + r0 * cout
            switch path {
            case .pointwise:
                PackedGEMM.multiply(rows: m, n: cout, k: cin, a: x + r0 * cin, lda: cin, packedB: w, kTotal: k,
                                    c: out, ldc: cout, accumulate: false, scratch: edge)
            case .temporal:
                // Centre tap: every row, overwriting. Other taps: only the frames whose source frame exists.
                PackedGEMM.multiply(rows: m, n: cout, k: cin, a: x + r0 * cin, lda: cin, packedB: w, kOffset: g.pt * cin,
                                    kTotal: k, c: out, ldc: cout, accumulate: false, scratch: edge)
                for dt in 0..<g.kt where dt != g.pt {
                    let shift = dt - g.pt
                    Conv3D.forEachSourceRun(rows: r0, count: m, frameRows: frame, frames: s.t, shift: shift) { lo, hi in
                        PackedGEMM.multiply(rows: hi - lo, n: cout, k: cin, a: x + (lo + shift * frame) * cin, lda: cin,
                                            packedB: w, kOffset: dt * cin, kTotal: k,
                                            c: y + lo * cout, ldc: cout, accumulate: true, scratch: edge)
                    }
                }
            case .im2col:
                Im2col.fill(x, s, g, output: o, rowStart: r0, rowCount: m, into: patches)
                PackedGEMM.multiply(rows: m, n: cout, k: k, a: patches, lda: k, packedB: w, kTotal: k,
                                    c: out, ldc: cout, accumulate: false, scratch: edge)
            }
            Epilogue.apply(out, rows: m, cols: cout, ld: cout, bias: b, residual: residual.map { $0 + r0 * cout }, relu: relu)
        }
        return o
    }
}

extension Conv3D {
    /// A temporal convolution's off-centre tap reads frame t + shift of the same clip: over output rows
    /// `rows ..< rows + count` (`frameRows` rows per frame, `frames` frames per clip), calls `body(lo, hi)` for each run
    /// of consecutive rows whose source frame lies inside the clip (the others get nothing from this tap: zero padding).
    /// Shared by `Conv3D` and `ReducedConv3D`, so both skip exactly the same rows.
    @inline(__always)
    static func forEachSourceRun(rows r0: Int, count m: Int, frameRows frame: Int, frames: Int, shift: Int,
                                 _ body: (_ lo: Int, _ hi: Int) -> Void) {
        let valid = { (f: Int) -> Bool in let t = f % frames + shift; return t >= 0 && t < frames }
        var f = r0 / frame
        let lastFrame = (r0 + m - 1) / frame
        while f <= lastFrame {
            if !valid(f) { f += 1; continue }
            var e = f + 1
            while e <= lastFrame && valid(e) { e += 1 }
            body(max(r0, f * frame), min(r0 + m, e * frame))
            f = e
        }
    }
}

/// Output rows cut into tiles for the workers: `count` tiles of at most `tileRows` rows, in order over 0..<rows, or
/// the tiles of selected ranges listed in `starts` (first row, row count).
struct RowTiles {
    let tileRows: Int, count: Int, rows: Int
    let starts: [(Int, Int)]?

    /// First row and row count of tile `tile`.
    func rows(of tile: Int) -> (Int, Int) {
        starts?[tile] ?? (tile * tileRows, min(tileRows, rows - tile * tileRows))
    }
}
