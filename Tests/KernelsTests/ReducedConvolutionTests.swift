import Kernels
import Testing

/// Reduced-precision convolutions against references written from their definition:
/// - int8: the input quantized per clip (max / 255, round to nearest even), the folded weights per output channel
///   (max |w| / 127), the integer sums done exactly, then scaled — must agree with `ReducedConv3D` to float rounding;
/// - bf16: inputs and weights rounded to bf16, sums in double;
/// and both against the fp32 naive convolution within the error their rounding allows.
@Suite("Reduced-precision convolutions vs references")
struct ReducedConvolutionTests {
    typealias Case = ConvolutionCase

    static let cases: [Case] = [
        Case(n: 2, cin: 5, cout: 13, t: 2, h: 7, w: 6, kernel: [1, 3, 3], stride: [1, 1, 1], padding: [0, 1, 1]),     // im2col, C_in not /4
        Case(n: 1, cin: 45, cout: 64, t: 4, h: 3, w: 3, kernel: [3, 1, 1], stride: [1, 1, 1], padding: [1, 0, 0]),    // temporal (stem.3)
        Case(n: 2, cin: 16, cout: 33, t: 3, h: 5, w: 4, kernel: [3, 1, 1], stride: [2, 1, 1], padding: [1, 0, 0]),    // strided temporal
        Case(n: 2, cin: 6, cout: 7, t: 3, h: 5, w: 3, kernel: [1, 1, 1], stride: [1, 1, 1], padding: [0, 0, 0]),      // pointwise
        Case(n: 2, cin: 9, cout: 20, t: 4, h: 6, w: 5, kernel: [1, 1, 1], stride: [2, 2, 2], padding: [0, 0, 0]),     // downsample
        Case(n: 1, cin: 64, cout: 40, t: 2, h: 9, w: 8, kernel: [1, 3, 3], stride: [1, 2, 2], padding: [0, 1, 1]),    // K = 576 (the layer1 spatial shape)
        Case(n: 3, cin: 3, cout: 4, t: 5, h: 6, w: 5, kernel: [3, 3, 3], stride: [2, 1, 2], padding: [1, 1, 0]),
    ]

    /// Channels-last input with non-negative values (as after a ReLU); clip 1 is 10× larger so the per-clip scales differ.
    static func input(_ c: Case, _ rng: inout RandomSource) -> Tensor {
        let x = rng.tensor([c.n, c.cin, c.t, c.h, c.w])
        let per = x.count / c.n
        for i in 0..<x.count { x[i] = max(0, x[i]) * (i / per == 1 ? 10 : 1) }
        return x
    }

    /// The case's input (`input`), random weights and bias and their convolution, from a generator seeded with `seed`
    /// (returned, to draw more from).
    static func operands(_ c: Case, seed: UInt64) -> (RandomSource, Tensor, Tensor, Tensor, Conv3D) {
        var rng = RandomSource(state: seed)
        let x = input(c, &rng)
        let (w, bias, conv) = c.convolution(&rng)
        return (rng, x, w, bias, conv)
    }

    @Test("int8: equals the quantized definition and stays near fp32", arguments: cases)
    func int8(_ c: Case) throws {
        let (generator, x, w, bias, conv) = Self.operands(c, seed: UInt64(c.description.utf8.count) &* 31 &+ UInt64(c.cout))
        var rng = generator
        let st = c.strides, pd = c.paddings
        let reduced = ReducedConv3D(conv, precision: .int8)
        let residual = rng.tensor([c.n, c.cout] + Array(naiveConv3D(x, w, bias: nil, stride: st, padding: pd).shape.dropFirst(2)))
        let y = runReduced(reduced, x, residual: residual, relu: true, threads: 2)

        // The definition: quantize input per clip and weights per output channel, integer sums, scale.
        let per = x.count / c.n
        let clipScale = (0..<c.n).map { n -> Float in let m = (0..<per).map { x[n * per + $0] }.max()!; return m > 0 ? m / 255 : 1 }
        let xq = Tensor(shape: x.shape) { for i in 0..<$0.count { $0[i] = Float(min(255, (x[i] * (1 / clipScale[i / per])).rounded(.toNearestOrEven))) } }
        let wPer = w.count / c.cout
        let wq = Tensor(shape: w.shape) { for i in 0..<$0.count { $0[i] = Float(max(-127, min(127, (w[i] / reduced.weightScale[i / wPer]).rounded(.toNearestOrEven)))) } }
        for co in 0..<c.cout {
            let m = (0..<wPer).map { abs(w[co * wPer + $0]) }.max()!
            #expect(reduced.weightScale[co] == m / 127)
        }
        let sums = naiveConv3D(xq, wq, bias: nil, stride: st, padding: pd)   // exact: small integers in double
        let fp = naiveConv3D(x, w, bias: bias.array, stride: st, padding: pd)
        let outPer = sums.count / c.n, plane = outPer / c.cout
        var worstDefinition: Float = 0, worstFP32: Float = 0, scale: Float = 0
        for i in 0..<sums.count {
            let n = i / outPer, co = (i % outPer) / plane
            let expected = max(0, sums[i] * (clipScale[n] * reduced.weightScale[co]) + bias[co] + residual[i])
            worstDefinition = max(worstDefinition, abs(y[i] - expected) / max(1, abs(expected)))
            let exact = max(0, fp[i] + residual[i])
            worstFP32 = max(worstFP32, abs(y[i] - exact)); scale = max(scale, abs(exact))
        }
        #expect(worstDefinition < 1e-5, "\(c): \(worstDefinition)")
        #expect(worstFP32 < 0.03 * scale, "\(c): |Δ| \(worstFP32) vs max \(scale)")
    }

    @Test("bf16: equals bf16-rounded operands summed exactly, to float rounding; near fp32", arguments: cases)
    func bf16(_ c: Case) throws {
        let (_, x, w, bias, conv) = Self.operands(c, seed: UInt64(c.description.utf8.count) &* 17 &+ UInt64(c.cin))
        let st = c.strides, pd = c.paddings
        let y = runReduced(ReducedConv3D(conv, precision: .bf16), x, residual: nil, relu: false, threads: 2)
        let round = { (t: Tensor) in Tensor(shape: t.shape) { for i in 0..<$0.count { $0[i] = ReducedConv3D.float(bf16: ReducedConv3D.bf16(t[i])) } } }
        let ref = naiveConv3D(round(x), round(w), bias: bias.array, stride: st, padding: pd)
        let fp = naiveConv3D(x, w, bias: bias.array, stride: st, padding: pd)
        var scale: Float = 0
        for i in 0..<fp.count { scale = max(scale, abs(fp[i])) }
        let k = Float(c.cin * c.kernel.reduce(1, *))
        #expect(maxDiff(y, ref) < 1e-5 * k.squareRoot() * max(1, scale), "\(c): \(maxDiff(y, ref))")
        #expect(maxDiff(y, fp) < 0.01 * max(1, scale), "\(c): \(maxDiff(y, fp)) vs \(scale)")
    }

    @Test("int8 and bf16: a clip's result does not depend on its batch or the thread count")
    func batchAndThreadInvariance() {
        var rng = RandomSource(state: 77)
        let c = Case(n: 2, cin: 12, cout: 40, t: 4, h: 9, w: 7, kernel: [1, 3, 3], stride: [1, 1, 1], padding: [0, 1, 1])
        let x = Self.input(c, &rng), w = rng.tensor([40, 12, 1, 3, 3]), b = rng.tensor([40])
        let conv = Conv3D(weight: w, bias: b, padding: (0, 1, 1))
        for p in [Precision.int8, .bf16] {
            let r = ReducedConv3D(conv, precision: p)
            let both1 = runReduced(r, x, residual: nil, relu: true, threads: 1)
            let both2 = runReduced(r, x, residual: nil, relu: true, threads: 2)
            #expect(maxDiff(both1, both2) == 0, "\(p) threads")
            let second = runReduced(r, x.slice(first: 1, count: 1), residual: nil, relu: true, threads: 2)
            let fromBatch = both2.slice(first: 1, count: 1)
            #expect(maxDiff(second, fromBatch) == 0, "\(p) batch")
        }
    }
}

/// Runs a reduced convolution on a channel-major input and returns a channel-major output.
func runReduced(_ conv: ReducedConv3D, _ x: Tensor, residual: Tensor?, relu: Bool, threads: Int) -> Tensor {
    runChannelMajor(x, residual: residual, outputShape: conv.outputShape) {
        conv.forward($0, $1, into: $2, residual: $3, relu: relu, scratch: ScratchBuffer(), converted: ScratchBuffer(), threads: threads)
    }
}
