import Testing
import Kernels

/// Differential tests: every optimized kernel against a deliberately naive loop written from the definition,
/// on small random shapes with odd sizes, strides 1/2 and padding edges.
struct RandomSource {
    var state: UInt64
    mutating func next() -> UInt64 {
        state = state &+ 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func uniform() -> Float { Float(Double(next() >> 40) / Double(1 << 24)) * 2 - 1 }
    mutating func int(_ r: ClosedRange<Int>) -> Int { r.lowerBound + Int(next() % UInt64(r.count)) }
    mutating func tensor(_ shape: [Int]) -> Tensor { Tensor(shape: shape) { for i in 0..<$0.count { $0[i] = uniform() } } }
}

/// Naive 3-D convolution in PyTorch's layout: x (N, C_in, T, H, W), w (C_out, C_in, kT, kH, kW) → (N, C_out, T', H', W').
func naiveConv3D(_ x: Tensor, _ w: Tensor, bias: [Float]?, stride: (Int, Int, Int), padding: (Int, Int, Int)) -> Tensor {
    let (n, cin, t, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3], x.shape[4])
    let (cout, kt, kh, kw) = (w.shape[0], w.shape[2], w.shape[3], w.shape[4])
    let ot = (t + 2 * padding.0 - kt) / stride.0 + 1
    let oh = (h + 2 * padding.1 - kh) / stride.1 + 1
    let ow = (wd + 2 * padding.2 - kw) / stride.2 + 1
    let y = Tensor(zeros: [n, cout, ot, oh, ow])
    for b in 0..<n { for co in 0..<cout { for i in 0..<ot { for j in 0..<oh { for l in 0..<ow {
        var acc: Double = Double(bias?[co] ?? 0)
        for ci in 0..<cin { for a in 0..<kt { for c in 0..<kh { for d in 0..<kw {
            let ti = i * stride.0 - padding.0 + a, hi = j * stride.1 - padding.1 + c, wi = l * stride.2 - padding.2 + d
            if ti < 0 || ti >= t || hi < 0 || hi >= h || wi < 0 || wi >= wd { continue }
            acc += Double(x[(((b * cin + ci) * t + ti) * h + hi) * wd + wi]) * Double(w[(((co * cin + ci) * kt + a) * kh + c) * kw + d])
        } } } }
        y[(((b * cout + co) * ot + i) * oh + j) * ow + l] = Float(acc)
    } } } } }
    return y
}

/// (N, C, S) channel-major → channels-last copy, by the definition.
func naiveToChannelsLast(_ x: Tensor) -> Tensor {
    let n = x.shape[0], c = x.shape[1], s = x.count / max(1, n * c)
    let y = Tensor(zeros: [x.count])
    for b in 0..<n { for ch in 0..<c { for p in 0..<s { y[(b * s + p) * c + ch] = x[(b * c + ch) * s + p] } } }
    return y
}

func maxDiff(_ a: Tensor, _ b: Tensor) -> Float { maxAbsDifference(a, b) }

/// Runs Conv3D on a channel-major input and returns a channel-major output.
func runConv(_ conv: Conv3D, _ x: Tensor, residual: Tensor? = nil, relu: Bool) -> Tensor {
    runChannelMajor(x, residual: residual, outputShape: conv.outputShape) {
        conv.forward($0, $1, into: $2, residual: $3, relu: relu, scratch: ScratchBuffer(), threads: 2)
    }
}

/// Converts `x` (and `residual`) from channel-major to channels-last, runs `forward(x, shape, y, residual)` of a
/// channels-last convolution into a buffer of `outputShape(shape)`, and returns that output channel-major.
func runChannelMajor(_ x: Tensor, residual: Tensor?, outputShape: (ActivationShape) -> ActivationShape?,
                     _ forward: (UnsafePointer<Float>, ActivationShape, UnsafeMutablePointer<Float>, UnsafePointer<Float>?) -> Void) -> Tensor {
    let (n, c, t, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3], x.shape[4])
    let s = ActivationShape(n: n, t: t, h: h, w: w, c: c)
    let xl = naiveToChannelsLast(x)
    let o = outputShape(s)!
    let yl = Tensor(zeros: [o.count])
    let rl = residual.map { naiveToChannelsLast($0) }
    forward(xl.pointer, s, yl.pointer, rl.map { UnsafePointer($0.pointer) })
    let y = Tensor(zeros: [o.n, o.c, o.t, o.h, o.w])
    Layout.toChannelsFirst(yl.pointer, y.pointer, n: o.n, c: o.c, spatial: o.positionsPerSample)
    return y
}

/// One convolution shape of the kernel tests (fp32 and reduced precision): input N × C_in × T × H × W, kernel, stride,
/// padding per axis (T, H, W).
struct ConvolutionCase: Sendable, CustomStringConvertible {
    let n, cin, cout, t, h, w: Int
    let kernel: [Int], stride: [Int], padding: [Int]
    var description: String { "N\(n) \(cin)→\(cout) in \(t)×\(h)×\(w) k\(kernel) s\(stride) p\(padding)" }
    var strides: (Int, Int, Int) { (stride[0], stride[1], stride[2]) }
    var paddings: (Int, Int, Int) { (padding[0], padding[1], padding[2]) }

    /// Random weights and bias of this shape (drawn in that order) and the `Conv3D` on them.
    func convolution(_ rng: inout RandomSource) -> (weight: Tensor, bias: Tensor, conv: Conv3D) {
        let w = rng.tensor([cout, cin] + kernel), bias = rng.tensor([cout])
        return (w, bias, Conv3D(weight: w, bias: bias, stride: strides, padding: paddings))
    }
}

@Suite("Convolution kernels vs naive loops")
struct ConvolutionTests {
    typealias Case = ConvolutionCase

    static let cases: [Case] = [
        // im2col path: spatial 1×k×k, odd sizes, strides 1 and 2, paddings
        Case(n: 2, cin: 3, cout: 5, t: 3, h: 11, w: 9, kernel: [1, 7, 7], stride: [1, 2, 2], padding: [0, 3, 3]),
        Case(n: 1, cin: 7, cout: 13, t: 2, h: 7, w: 10, kernel: [1, 3, 3], stride: [1, 1, 1], padding: [0, 1, 1]),
        Case(n: 3, cin: 6, cout: 9, t: 1, h: 9, w: 5, kernel: [1, 3, 3], stride: [1, 2, 2], padding: [0, 1, 1]),
        Case(n: 1, cin: 1, cout: 4, t: 1, h: 13, w: 6, kernel: [1, 7, 7], stride: [1, 2, 2], padding: [0, 3, 3]),
        Case(n: 2, cin: 4, cout: 3, t: 5, h: 4, w: 6, kernel: [1, 3, 2], stride: [1, 1, 2], padding: [0, 0, 1]),
        // temporal stride 2 goes through im2col
        Case(n: 2, cin: 5, cout: 6, t: 7, h: 3, w: 4, kernel: [3, 1, 1], stride: [2, 1, 1], padding: [1, 0, 0]),
        // K = 64·9 = 576 > the GEMM's K block (512): accumulation across K blocks inside a convolution
        Case(n: 1, cin: 64, cout: 20, t: 2, h: 5, w: 4, kernel: [1, 3, 3], stride: [1, 1, 1], padding: [0, 1, 1]),
        Case(n: 2, cin: 200, cout: 17, t: 3, h: 2, w: 3, kernel: [3, 1, 1], stride: [1, 1, 1], padding: [1, 0, 0]),
        // full 3-D kernel
        Case(n: 1, cin: 3, cout: 4, t: 5, h: 6, w: 5, kernel: [3, 3, 3], stride: [2, 1, 2], padding: [1, 1, 0]),
        // temporal shifted-GEMM path (3×1×1, stride 1, padding 1), including T = 1 and T = 2
        Case(n: 3, cin: 7, cout: 5, t: 5, h: 3, w: 3, kernel: [3, 1, 1], stride: [1, 1, 1], padding: [1, 0, 0]),
        Case(n: 2, cin: 4, cout: 6, t: 1, h: 2, w: 3, kernel: [3, 1, 1], stride: [1, 1, 1], padding: [1, 0, 0]),
        Case(n: 2, cin: 9, cout: 3, t: 2, h: 5, w: 1, kernel: [3, 1, 1], stride: [1, 1, 1], padding: [1, 0, 0]),
        Case(n: 1, cin: 3, cout: 2, t: 6, h: 2, w: 2, kernel: [5, 1, 1], stride: [1, 1, 1], padding: [2, 0, 0]),
        // pointwise, and the strided 1×1×1 downsample (im2col path)
        Case(n: 2, cin: 6, cout: 7, t: 3, h: 5, w: 3, kernel: [1, 1, 1], stride: [1, 1, 1], padding: [0, 0, 0]),
        Case(n: 2, cin: 6, cout: 7, t: 5, h: 7, w: 5, kernel: [1, 1, 1], stride: [2, 2, 2], padding: [0, 0, 0]),
    ]

    @Test("Conv3D (+ bias, BN fold, residual, ReLU) matches the naive loop", arguments: cases)
    func convMatchesNaive(_ c: Case) throws {
        var rng = RandomSource(state: UInt64(c.description.utf8.count) &* 7919 &+ UInt64(c.cout))
        let x = rng.tensor([c.n, c.cin, c.t, c.h, c.w])
        let (w, bias, conv) = c.convolution(&rng)
        let st = c.strides, pd = c.paddings
        let ref = naiveConv3D(x, w, bias: bias.array, stride: st, padding: pd)

        // plain convolution with bias, no activation
        let y = runConv(conv, x, relu: false)
        #expect(y.shape == ref.shape)
        #expect(maxDiff(y, ref) < 1e-4, "\(c): \(maxDiff(y, ref))")

        // residual + ReLU fused in the epilogue
        let res = rng.tensor(ref.shape)
        let expected = Tensor(shape: ref.shape) { for i in 0..<$0.count { $0[i] = max(0, ref[i] + res[i]) } }
        let yr = runConv(conv, x, residual: res, relu: true)
        #expect(maxDiff(yr, expected) < 1e-4, "\(c) residual: \(maxDiff(yr, expected))")

        // BatchNorm folded at load equals conv followed by BatchNorm
        let gamma = (0..<c.cout).map { _ in 1 + 0.3 * rng.uniform() }, beta = (0..<c.cout).map { _ in rng.uniform() }
        let mean = (0..<c.cout).map { _ in 0.2 * rng.uniform() }, variance = (0..<c.cout).map { _ in 1 + 0.5 * rng.uniform() }
        let bn = BatchNormParameters(gamma: gamma, beta: beta, mean: mean, variance: variance)
        let noBias = naiveConv3D(x, w, bias: nil, stride: st, padding: pd)
        let per = noBias.count / (c.n * c.cout)
        let expectedBN = Tensor(shape: ref.shape) {
            for i in 0..<$0.count {
                let co = (i / per) % c.cout
                $0[i] = max(0, (noBias[i] - mean[co]) / (variance[co] + 1e-5).squareRoot() * gamma[co] + beta[co])
            }
        }
        let ybn = runConv(Conv3D(weight: w, batchNorm: bn, stride: st, padding: pd), x, relu: true)
        #expect(maxDiff(ybn, expectedBN) < 1e-4, "\(c) BN: \(maxDiff(ybn, expectedBN))")
    }

    @Test("Geometry picks the shifted-GEMM path for 3×1×1 stride 1 and pointwise for 1×1×1")
    func pathSelection() {
        var rng = RandomSource(state: 1)
        #expect(Conv3D(weight: rng.tensor([4, 3, 3, 1, 1]), padding: (1, 0, 0)).path == .temporal)
        #expect(Conv3D(weight: rng.tensor([4, 3, 3, 1, 1]), stride: (2, 1, 1), padding: (1, 0, 0)).path == .im2col)
        #expect(Conv3D(weight: rng.tensor([4, 3, 1, 1, 1])).path == .pointwise)
        #expect(Conv3D(weight: rng.tensor([4, 3, 1, 3, 3]), padding: (0, 1, 1)).path == .im2col)
    }

    @Test("Temporal path across many tiles and clips (frames smaller and larger than a tile) equals the naive loop",
          arguments: [(3, 7, 2, 3), (2, 5, 20, 15)])
    func temporalTiles(_ d: (Int, Int, Int, Int)) {
        let (n, t, h, w) = d
        var rng = RandomSource(state: UInt64(n * t * h * w))
        let x = rng.tensor([n, 16, t, h, w]), wt = rng.tensor([40, 16, 3, 1, 1]), b = rng.tensor([40])
        let ref = naiveConv3D(x, wt, bias: b.array, stride: (1, 1, 1), padding: (1, 0, 0))
        let conv = Conv3D(weight: wt, bias: b, padding: (1, 0, 0))
        #expect(conv.path == .temporal)
        let y = runConv(conv, x, relu: false)
        #expect(maxDiff(y, ref) < 1e-4)
    }

    @Test("One worker and two workers give identical results")
    func threadsAgree() {
        var rng = RandomSource(state: 21)
        let x = rng.tensor([2, 16, 3, 20, 19]), w = rng.tensor([37, 16, 3, 3, 3]), b = rng.tensor([37])
        let conv = Conv3D(weight: w, bias: b, stride: (1, 2, 1), padding: (1, 1, 1))
        let s = ActivationShape(n: 2, t: 3, h: 20, w: 19, c: 16)
        let xl = naiveToChannelsLast(x)
        let o = conv.outputShape(s)!
        let y1 = Tensor(zeros: [o.count]), y2 = Tensor(zeros: [o.count])
        conv.forward(xl.pointer, s, into: y1.pointer, relu: true, scratch: ScratchBuffer(), threads: 1)
        conv.forward(xl.pointer, s, into: y2.pointer, relu: true, scratch: ScratchBuffer(), threads: 2)
        #expect(maxDiff(y1, y2) == 0)
    }

    @Test("Tiled im2col: a convolution bigger than one tile equals the naive loop")
    func multipleTiles() {
        // K = 9·40 = 360 → tiles of 180 rows; 2·1·50·40 = 4000 output rows → 23 tiles, the last one partial.
        // (K = 360 < kc, so one K block; the GEMM tests cover K > kc.)
        var rng = RandomSource(state: 99)
        let x = rng.tensor([2, 40, 1, 50, 40]), w = rng.tensor([8, 40, 1, 3, 3]), b = rng.tensor([8])
        let ref = naiveConv3D(x, w, bias: b.array, stride: (1, 1, 1), padding: (0, 1, 1))
        let y = runConv(Conv3D(weight: w, bias: b, padding: (0, 1, 1)), x, relu: false)
        #expect(maxDiff(y, ref) < 1e-4)
    }

    @Test("2-D convolution wrapper equals the naive loop with T = 1")
    func conv2D() {
        var rng = RandomSource(state: 5)
        let x = rng.tensor([2, 3, 1, 9, 12]), w = rng.tensor([6, 3, 3, 3])
        let w5 = w.reshaped([6, 3, 1, 3, 3])
        let ref = naiveConv3D(x, w5, bias: nil, stride: (1, 2, 2), padding: (0, 1, 1))
        let y = runConv(Conv3D.conv2D(weight: w, stride: 2, padding: 1), x, relu: false)
        #expect(maxDiff(y, ref) < 1e-4)
    }
}

@Suite("Packed GEMM vs the naive product")
struct PackedGEMMTests {
    @Test("C (+)= A·B for odd M, N, K (edge micro-tiles and panels, K blocks)",
          arguments: [(1, 1, 1), (12, 32, 5), (13, 33, 7), (25, 70, 513), (7, 45, 147), (50, 17, 1100), (24, 48, 9), (36, 144, 600)])
    func product(_ d: (Int, Int, Int)) {
        let (m, n, k) = d
        var rng = RandomSource(state: UInt64(m * 1000 + n * 10 + k))
        let a = rng.tensor([m, k]), b = rng.tensor([k, n]), c0 = rng.tensor([m, n])
        let packedB = PackedGEMM.packB(b.pointer, k: k, n: n)
        let scratch = Tensor(zeros: [PackedGEMM.scratchCount(k: k)])
        for accumulate in [false, true] {
            let c = c0.copy()
            PackedGEMM.multiply(rows: m, n: n, k: k, a: a.pointer, lda: k, packedB: packedB.pointer, kTotal: k,
                                c: c.pointer, ldc: n, accumulate: accumulate, scratch: scratch.pointer)
            var worst: Double = 0
            for i in 0..<m { for j in 0..<n {
                var acc: Double = accumulate ? Double(c0[i * n + j]) : 0
                for q in 0..<k { acc += Double(a[i * k + q]) * Double(b[q * n + j]) }
                worst = max(worst, abs(acc - Double(c[i * n + j])))
            } }
            #expect(worst < 1e-3 * max(1, Double(k).squareRoot() / 10), "M \(m) N \(n) K \(k) accumulate \(accumulate): \(worst)")
        }
    }

}

@Suite("Pooling, linear and layout kernels vs naive loops")
struct PoolingLinearTests {
    @Test("Max pool 3×3 s2 p1 (and other sizes) equals the naive loop", arguments: [(9, 7, 3, 2, 1), (8, 13, 3, 2, 1), (5, 5, 2, 2, 0), (4, 6, 3, 1, 1)])
    func maxPool(_ p: (Int, Int, Int, Int, Int)) {
        let (h, w, k, s, pad) = p
        var rng = RandomSource(state: UInt64(h * 100 + w))
        let n = 2, t = 2, c = 5
        let x = rng.tensor([n * t * h * w * c])     // channels-last
        let shape = ActivationShape(n: n, t: t, h: h, w: w, c: c)
        let oh = (h + 2 * pad - k) / s + 1, ow = (w + 2 * pad - k) / s + 1
        let y = Tensor(zeros: [n * t * oh * ow * c])
        let o = Pooling.maxPool2D(x.pointer, shape, kernel: k, stride: s, padding: pad, into: y.pointer)
        #expect(o == ActivationShape(n: n, t: t, h: oh, w: ow, c: c))
        for f in 0..<(n * t) { for i in 0..<oh { for j in 0..<ow { for ch in 0..<c {
            var m = -Float.infinity
            for a in 0..<k { for b in 0..<k {
                let hi = i * s - pad + a, wi = j * s - pad + b
                if hi >= 0 && hi < h && wi >= 0 && wi < w { m = max(m, x[((f * h + hi) * w + wi) * c + ch]) }
            } }
            #expect(y[((f * oh + i) * ow + j) * c + ch] == m)
        } } } }
    }

    @Test("Global average and max pooling equal the naive loops")
    func globalPools() {
        var rng = RandomSource(state: 11)
        let s = ActivationShape(n: 3, t: 2, h: 3, w: 5, c: 7)
        let x = rng.tensor([s.count])
        let avg = Tensor(zeros: [s.n * s.c]), mx = Tensor(zeros: [s.n * s.c])
        Pooling.globalAverage(x.pointer, s, into: avg.pointer)
        Pooling.globalMax(x.pointer, s, into: mx.pointer)
        let p = s.positionsPerSample
        for n in 0..<s.n { for c in 0..<s.c {
            var sum: Double = 0, m = -Float.infinity
            for q in 0..<p { let v = x[(n * p + q) * s.c + c]; sum += Double(v); m = max(m, v) }
            #expect(abs(avg[n * s.c + c] - Float(sum / Double(p))) < 1e-5)
            #expect(mx[n * s.c + c] == m)
        } }
    }

    @Test("sgemm (all transposes, beta, strides) and sgemv equal the naive products, with 1 and 2 threads",
          arguments: [(1, 5, 3), (4, 17, 9), (37, 64, 130)])
    func blasProducts(_ d: (Int, Int, Int)) {
        let (m, n, k) = d
        var rng = RandomSource(state: UInt64(m * n * k))
        for (transA, transB) in [(false, false), (true, false), (false, true), (true, true)] {
            // A is (M×K), stored transposed when transA; likewise B (K×N); C has a wider row stride than N.
            let a = rng.tensor([m * k]), b = rng.tensor([k * n]), c0 = rng.tensor([m * (n + 3)])
            let lda = transA ? m : k, ldb = transB ? k : n, ldc = n + 3
            func aAt(_ i: Int, _ q: Int) -> Double { Double(transA ? a[q * lda + i] : a[i * lda + q]) }
            func bAt(_ q: Int, _ j: Int) -> Double { Double(transB ? b[j * ldb + q] : b[q * ldb + j]) }
            for threads in [1, 2] {
                let c = c0.copy()
                sgemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: 0.5, a: a.pointer, lda: lda,
                      b: b.pointer, ldb: ldb, beta: 2, c: c.pointer, ldc: ldc, threads: threads)
                for i in 0..<m { for j in 0..<n {
                    var acc = 0.0
                    for q in 0..<k { acc += aAt(i, q) * bAt(q, j) }
                    let want = 0.5 * acc + 2 * Double(c0[i * ldc + j])
                    #expect(abs(Double(c[i * ldc + j]) - want) < 1e-4 * max(1, abs(want)))
                } }
            }
        }
        let a = rng.tensor([m * (k + 1)]), x = rng.tensor([k]), y0 = rng.tensor([m])
        for threads in [1, 2] {
            let y = y0.copy()
            sgemv(m: m, n: k, a: a.pointer, lda: k + 1, x: x.pointer, beta: 1, y: y.pointer, threads: threads)
            for i in 0..<m {
                var acc = Double(y0[i])
                for q in 0..<k { acc += Double(a[i * (k + 1) + q]) * Double(x[q]) }
                #expect(abs(Double(y[i]) - acc) < 1e-4 * max(1, abs(acc)))
            }
        }
    }

    @Test("A thread count far above the work (or Int.max) is clamped, not a crash, and changes nothing")
    func hugeThreadCounts() {
        var rng = RandomSource(state: 7)
        let conv = Conv3D(weight: rng.tensor([8, 3, 1, 3, 3]), stride: (1, 1, 1), padding: (0, 1, 1))
        let s = ActivationShape(n: 1, t: 2, h: 5, w: 5, c: 3)
        let x = rng.tensor([s.count])
        let y1 = Tensor(zeros: [conv.outputShape(s)!.count]), y2 = Tensor(zeros: [y1.count])
        conv.forward(x.pointer, s, into: y1.pointer, relu: false, scratch: ScratchBuffer(), threads: 1)
        conv.forward(x.pointer, s, into: y2.pointer, relu: false, scratch: ScratchBuffer(), threads: Int.max)
        #expect(maxDiff(y1, y2) == 0)
        let c = Tensor(zeros: [4])
        sgemm(m: 2, n: 2, k: 1, a: x.pointer, lda: 1, b: x.pointer, ldb: 2, c: c.pointer, ldc: 2, threads: Int.max)
        #expect(c[0] == x[0] * x[0])
    }

    @Test("Layout transposes round-trip and match the definition", arguments: [(1, 1, 1), (2, 3, 37), (3, 45, 33)])
    func layout(_ d: (Int, Int, Int)) {
        let (n, c, s) = d
        var rng = RandomSource(state: UInt64(n + c + s))
        let x = rng.tensor([n, c, s])
        let cl = Tensor(zeros: [x.count]), back = Tensor(zeros: [n, c, s])
        Layout.toChannelsLast(x.pointer, cl.pointer, n: n, c: c, spatial: s)
        #expect(maxDiff(cl, naiveToChannelsLast(x)) == 0)
        Layout.toChannelsFirst(cl.pointer, back.pointer, n: n, c: c, spatial: s)
        #expect(maxDiff(back, x) == 0)
    }

    @Test("Strided outputs (rows of a larger matrix): the transpose and the global max write each sample's row at its stride and nothing between")
    func stridedOutputs() {
        var rng = RandomSource(state: 29)
        let sh = ActivationShape(n: 3, t: 1, h: 7, w: 7, c: 40)
        let x = rng.tensor([sh.count])
        let flat = sh.c * sh.positionsPerSample, stride = flat + 13
        let packed = Tensor(zeros: [sh.n * flat]), strided = Tensor(zeros: [sh.n * stride])
        for i in 0..<strided.count { strided[i] = 7 }   // guard values between the rows
        Layout.toChannelsFirst(x.pointer, packed.pointer, n: sh.n, c: sh.c, spatial: sh.positionsPerSample)
        Layout.toChannelsFirst(x.pointer, strided.pointer, n: sh.n, c: sh.c, spatial: sh.positionsPerSample, sampleStride: stride)
        let maxPacked = Tensor(zeros: [sh.n * sh.c]), maxStrided = Tensor(zeros: [sh.n * (sh.c + 5)])
        for i in 0..<maxStrided.count { maxStrided[i] = 7 }
        Pooling.globalMax(x.pointer, sh, into: maxPacked.pointer)
        Pooling.globalMax(x.pointer, sh, into: maxStrided.pointer, rowStride: sh.c + 5)
        for n in 0..<sh.n {
            for i in 0..<flat { #expect(strided[n * stride + i] == packed[n * flat + i]) }
            for i in flat..<stride { #expect(strided[n * stride + i] == 7) }
            for i in 0..<sh.c { #expect(maxStrided[n * (sh.c + 5) + i] == maxPacked[n * sh.c + i]) }
            for i in sh.c..<(sh.c + 5) { #expect(maxStrided[n * (sh.c + 5) + i] == 7) }
        }
    }
}
