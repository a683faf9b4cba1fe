/// A 3-D convolution (optionally with BatchNorm folded in) on channels-last activations, computed as GEMMs:
/// (output positions × K) · (K × C_out) with K = kT·kH·kW·C_in. Weights are packed once at load time.
///
/// Three ways to form the GEMM, picked from the geometry:
/// - pointwise (1×1×1, stride 1): the input already is the (positions × C_in) matrix;
/// - temporal (kT×1×1, stride 1, "same" padding in T): shifted GEMMs — for each tap dt, output frame t reads input
///   frame t+dt−pT, which in channels-last is a contiguous block of rows, so no im2col at all: the centre tap covers
///   every row of the batch in one GEMM, the other taps accumulate per clip into the rows where they are in range;
/// - anything else: im2col in row tiles of about `tileFloats` floats, one GEMM per tile, bias/residual/ReLU applied
///   to the tile while it is still in cache.
public final class Conv3D: @unchecked Sendable {
    public let geometry: ConvGeometry
    /// (K, C_out) row-major, K ordered (dt, dh, dw, c_in).
    public let packedWeight: Tensor
    /// (C_out)
    public let bias: Tensor

    /// Floats per im2col tile (4 MB).
    public static let tileFloats = 1 << 20
    /// Smallest tile in rows, so GEMMs stay efficient for large K.
    public static let minTileRows = 128

    public enum Path: Sendable { case pointwise, temporal, im2col }
    public let path: Path

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
        packedWeight = packed
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

    public func outputShape(_ s: ActivationShape) -> ActivationShape? {
        guard s.c == geometry.inChannels else { return nil }
        return geometry.outputShape(s)
    }

    /// Multiply-adds × 2 for one forward over `s`.
    public func flops(_ s: ActivationShape) -> Double {
        guard let o = outputShape(s) else { return 0 }
        return 2 * Double(o.positions) * Double(geometry.k) * Double(geometry.outChannels)
    }

    /// Rows per im2col tile for this convolution.
    var tileRows: Int { max(Self.minTileRows, Self.tileFloats / geometry.k) }

    /// Scratch floats `forward` needs for input `s`.
    public func scratchCount(_ s: ActivationShape) -> Int {
        guard path == .im2col, let o = outputShape(s) else { return 0 }
        return min(o.positions, tileRows) * geometry.k
    }

    /// y = act(conv(x) + bias (+ residual)); `y` and `residual` have the output shape, channels-last.
    /// `y` must not overlap `x`. Returns the output shape.
    @discardableResult
    public func forward(_ x: UnsafePointer<Float>, _ s: ActivationShape, into y: UnsafeMutablePointer<Float>,
                        residual: UnsafePointer<Float>? = nil, relu: Bool, scratch: ScratchBuffer) -> ActivationShape {
        guard let o = outputShape(s) else { preconditionFailure("\(geometry) cannot take input \(s)") }
        let g = geometry, cout = g.outChannels, cin = g.inChannels
        let w = UnsafePointer(packedWeight.pointer), b = UnsafePointer(bias.pointer)
        switch path {
        case .pointwise:
            sgemm(m: o.positions, n: cout, k: cin, a: x, lda: cin, b: w, ldb: cout, c: y, ldc: cout)
            Epilogue.apply(y, rows: o.positions, cols: cout, ld: cout, bias: b, residual: residual, relu: relu)
        case .temporal:
            let frame = s.h * s.w                     // rows per frame
            let centre = g.pt
            sgemm(m: o.positions, n: cout, k: cin, a: x, lda: cin, b: w + centre * cin * cout, ldb: cout, c: y, ldc: cout)
            for dt in 0..<g.kt where dt != centre {
                let shift = dt - centre                 // output frame t reads input frame t + shift
                let lo = max(0, -shift), hi = min(s.t, s.t - shift)
                guard hi > lo else { continue }
                for n in 0..<s.n {
                    sgemm(m: (hi - lo) * frame, n: cout, k: cin,
                          a: x + ((n * s.t + lo + shift) * frame) * cin, lda: cin,
                          b: w + dt * cin * cout, ldb: cout,
                          beta: 1, c: y + ((n * s.t + lo) * frame) * cout, ldc: cout)
                }
            }
            Epilogue.apply(y, rows: o.positions, cols: cout, ld: cout, bias: b, residual: residual, relu: relu)
        case .im2col:
            let rows = tileRows, total = o.positions, k = g.k
            let buffer = scratch.reserve(min(total, rows) * k)
            var r0 = 0
            while r0 < total {
                let m = min(rows, total - r0)
                Im2col.fill(x, s, g, output: o, rowStart: r0, rowCount: m, into: buffer)
                sgemm(m: m, n: cout, k: k, a: buffer, lda: k, b: w, ldb: cout, c: y + r0 * cout, ldc: cout)
                Epilogue.apply(y + r0 * cout, rows: m, cols: cout, ld: cout, bias: b,
                               residual: residual.map { $0 + r0 * cout }, relu: relu)
                r0 += m
            }
        }
        return o
    }
}
