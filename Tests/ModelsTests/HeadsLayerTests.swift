import Foundation
import Testing
import Kernels
import Models
import TestSupport

/// The head layers against deliberately naive references (double precision loops), on small odd shapes.
@Suite struct HeadsLayerTests {
    /// A parameter scope over random tensors (uniform in [-scale, scale)); returns the tensors too.
    final class RandomParameters {
        var tensors: [String: Tensor] = [:]
        var writer = SafeTensorsWriter()
        func add(_ name: String, _ shape: [Int], scale: Float = 0.5) {
            let t = SyntheticWeights.uniformTensor("layer-test:" + name, shape: shape, scale: scale)
            tensors[name] = t
            writer.add(name, t)
        }
        func store() throws -> ParameterStore {
            ParameterStore.reading(try SafeTensorsFile(data: try writer.serialized(), path: "layer-test"))
        }
        subscript(_ name: String) -> [Double] { tensors[name]!.array.map(Double.init) }
    }

    func random(_ name: String, _ shape: [Int], scale: Float = 1) -> Tensor {
        SyntheticWeights.uniformTensor("layer-test-input:" + name, shape: shape, scale: scale)
    }

    func maxDiff(_ t: Tensor, _ ref: [Double]) -> Double {
        precondition(t.count == ref.count)
        return zip(t.array, ref).map { abs(Double($0) - $1) }.max() ?? 0
    }

    /// y[r, o] = Σ_i x[r, i]·W[o, i] + b[o]
    func naiveLinear(_ x: [Double], rows: Int, _ w: [Double], _ b: [Double]?, inF: Int, outF: Int) -> [Double] {
        var y = [Double](repeating: 0, count: rows * outF)
        for r in 0..<rows { for o in 0..<outF {
            var s = b?[o] ?? 0
            for i in 0..<inF { s += x[r * inF + i] * w[o * inF + i] }
            y[r * outF + o] = s
        } }
        return y
    }

    func naiveSoftmax(_ v: [Double]) -> [Double] {
        let m = v.max()!
        let e = v.map { Foundation.exp($0 - m) }
        let s = e.reduce(0, +)
        return e.map { $0 / s }
    }

    @Test func softmaxIsStableAndNormalised() {
        let t = Tensor(shape: [2, 5], values: [1000, 1001, 999, -5, 0, -3, -2, -1, 0, 1])
        Functional.softmaxLastInPlace(t)
        let ref = naiveSoftmax([1000, 1001, 999, -5, 0]) + naiveSoftmax([-3, -2, -1, 0, 1])
        #expect(maxDiff(t, ref) < 1e-6)
        let g = Tensor(shape: [1, 2], values: [0.3, 0.1])
        Functional.softmaxLastInPlace(g, scale: 10)  // temperature 0.1
        #expect(maxDiff(g, naiveSoftmax([3, 1])) < 1e-6)
    }

    /// The vectorised tanh against double precision, densely over [-12, 12] and at special values.
    @Test func vectorTanhIsAccurate() {
        var xs: [Float] = stride(from: -12.0, through: 12.0, by: 0.000_37).map { Float($0) }
        xs += [0, -0.0, 1e-30, -1e-30, 1e-8, 1e-4, -1e-4, 0.1732, 0.3466, 0.3467, 8.99, 9, 9.01, 50, -50,
               .greatestFiniteMagnitude, -.greatestFiniteMagnitude, .infinity, -.infinity]
        let t = Tensor(shape: [xs.count], values: xs)
        Functional.tanhInPlace(t)
        var worstAbs = 0.0, worstUlps = 0.0
        for (i, x) in xs.enumerated() {
            let ref = Foundation.tanh(Double(x)), got = Double(t[i])
            worstAbs = max(worstAbs, abs(got - ref))
            let ulp = Double(Float(ref).ulp)
            if ulp > 0 { worstUlps = max(worstUlps, abs(got - ref) / ulp) }
        }
        print("vector tanh: max abs error \(worstAbs), max \(worstUlps) ulp")
        #expect(worstAbs < 1.2e-7, "max abs error \(worstAbs)")
        #expect(worstUlps <= 4, "max error \(worstUlps) ulp")
        #expect(t[xs.count - 19].sign == .plus && t[xs.count - 18].sign == .minus)   // ±0 keep their sign
        let nan = Tensor(shape: [3], values: [.nan, 1, 2])
        Functional.tanhInPlace(nan)
        #expect(nan[0].isNaN)
    }

    @Test func l2NormalizeMatchesDefinition() {
        let x = random("l2", [3, 7])
        let y = Functional.l2Normalize(x)
        var ref: [Double] = []
        for r in 0..<3 {
            let row = (0..<7).map { Double(x[r * 7 + $0]) }
            let n = max(row.map { $0 * $0 }.reduce(0, +).squareRoot(), 1e-12)
            ref += row.map { $0 / n }
        }
        #expect(maxDiff(y, ref) < 1e-6)
        #expect(Functional.l2Normalize(Tensor(zeros: [1, 4])).array == [0, 0, 0, 0])   // eps, no NaN
    }

    @Test func layerNormMatchesDefinition() throws {
        let p = RandomParameters()
        p.add("n.weight", [9]); p.add("n.bias", [9])
        let store = try p.store()
        let norm = LayerNorm(store.root.scope("n"), dim: 9)
        try store.finish()
        let x = random("ln", [4, 9], scale: 3)
        let y = norm(x)
        var ref: [Double] = []
        for r in 0..<4 {
            let row = (0..<9).map { Double(x[r * 9 + $0]) }
            let mean = row.reduce(0, +) / 9
            let variance = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 9
            ref += (0..<9).map { (row[$0] - mean) / (variance + 1e-5).squareRoot() * p["n.weight"][$0] + p["n.bias"][$0] }
        }
        #expect(maxDiff(y, ref) < 1e-5)
    }

    @Test func linearAlongTimeMatchesTransposedLinear() throws {
        let p = RandomParameters()
        p.add("k.weight", [5, 5]); p.add("k.bias", [5])
        let store = try p.store()
        let key = Linear(store.root.scope("k"), in: 5, out: 5)
        try store.finish()
        let x = random("time", [2, 5, 3])   // (B, L, C)
        let y = key.alongTime(x, threads: 2)            // (B, C, L)
        #expect(y.shape == [2, 3, 5])
        var ref = [Double](repeating: 0, count: 30)
        for b in 0..<2 { for c in 0..<3 { for o in 0..<5 {
            var s = p["k.bias"][o]
            for l in 0..<5 { s += Double(x[(b * 5 + l) * 3 + c]) * p["k.weight"][o * 5 + l] }
            ref[(b * 3 + c) * 5 + o] = s
        } } }
        #expect(maxDiff(y, ref) < 1e-5)
    }

    /// The LSTM wrapper against a direct loop over time steps, gates and directions (2 layers, so the
    /// init_hidden row order and the layer-to-layer feed are both checked).
    @Test func biLSTMMatchesDirectLoop() throws {
        let e = 3, hidden = 4, h = 2, layers = 2, b = 2, l = 5
        let p = RandomParameters()
        p.add("m.init_hidden", [4 * layers, h])
        p.add("m.linear.weight", [hidden, hidden + e]); p.add("m.linear.bias", [hidden])
        for k in 0..<layers { for s in ["", "_reverse"] {
            let inF = k == 0 ? e : hidden
            p.add("m.rnn.weight_ih_l\(k)\(s)", [4 * h, inF]); p.add("m.rnn.weight_hh_l\(k)\(s)", [4 * h, h])
            p.add("m.rnn.bias_ih_l\(k)\(s)", [4 * h]); p.add("m.rnn.bias_hh_l\(k)\(s)", [4 * h])
        } }
        let store = try p.store()
        let lstm = BiLSTM(store.root.scope("m"), input: e, hidden: hidden, layers: layers)
        try store.finish()
        let x = random("lstm", [b, l, e])
        let y = lstm(x, threads: 2)

        func sigmoid(_ v: Double) -> Double { 1 / (1 + Foundation.exp(-v)) }
        let ih = p["m.init_hidden"]
        var ref: [Double] = []
        for bi in 0..<b {
            var seq: [[Double]] = (0..<l).map { t in (0..<e).map { Double(x[(bi * l + t) * e + $0]) } }
            let input = seq
            for k in 0..<layers {
                var next = [[Double]](repeating: [Double](repeating: 0, count: 2 * h), count: l)
                for d in 0..<2 {
                    let s = d == 0 ? "" : "_reverse"
                    let wih = p["m.rnn.weight_ih_l\(k)\(s)"], whh = p["m.rnn.weight_hh_l\(k)\(s)"]
                    let bih = p["m.rnn.bias_ih_l\(k)\(s)"], bhh = p["m.rnn.bias_hh_l\(k)\(s)"]
                    let inF = seq[0].count
                    var hs = Array(ih[((2 * k + d) * h)..<((2 * k + d + 1) * h)])
                    var cs = Array(ih[((2 * layers + 2 * k + d) * h)..<((2 * layers + 2 * k + d + 1) * h)])
                    let order = d == 0 ? Array(0..<l) : Array((0..<l).reversed())
                    for t in order {
                        var g = [Double](repeating: 0, count: 4 * h)
                        for r in 0..<(4 * h) {
                            var acc = bih[r] + bhh[r]
                            for i in 0..<inF { acc += wih[r * inF + i] * seq[t][i] }
                            for j in 0..<h { acc += whh[r * h + j] * hs[j] }
                            g[r] = acc
                        }
                        for j in 0..<h {
                            let ig = sigmoid(g[j]), fg = sigmoid(g[h + j]), gg = Foundation.tanh(g[2 * h + j]), og = sigmoid(g[3 * h + j])
                            cs[j] = fg * cs[j] + ig * gg
                            hs[j] = og * Foundation.tanh(cs[j])
                            next[t][d * h + j] = hs[j]
                        }
                    }
                }
                seq = next
            }
            for t in 0..<l {
                let joined = input[t] + seq[t]   // input first
                var out = naiveLinear(joined, rows: 1, p["m.linear.weight"], p["m.linear.bias"], inF: hidden + e, outF: hidden)
                let n = max(out.map { $0 * $0 }.reduce(0, +).squareRoot(), 1e-12)
                out = out.map { $0 / n }
                ref += out
            }
        }
        #expect(y.shape == [b, l, hidden])
        #expect(maxDiff(y, ref) < 1e-5)
    }

    @Test func multiHeadAttentionMatchesDefinition() throws {
        let d = 6, heads = 2, hd = 3, b = 2, lq = 3, lk = 4
        let p = RandomParameters()
        p.add("a.in_proj_weight", [3 * d, d]); p.add("a.in_proj_bias", [3 * d])
        p.add("a.out_proj.weight", [d, d]); p.add("a.out_proj.bias", [d])
        let store = try p.store()
        let mha = MultiHeadAttention(store.root.scope("a"), dim: d, heads: heads)
        try store.finish()
        let q = random("q", [b, lq, d]), kv = random("kv", [b, lk, d])
        let y = mha(query: q, key: kv, value: kv, threads: 2)
        let w = p["a.in_proj_weight"], bias = p["a.in_proj_bias"]
        var ref: [Double] = []
        for bi in 0..<b {
            let qx = (0..<(lq * d)).map { Double(q[bi * lq * d + $0]) }
            let kx = (0..<(lk * d)).map { Double(kv[bi * lk * d + $0]) }
            let Q = naiveLinear(qx, rows: lq, Array(w[0..<(d * d)]), Array(bias[0..<d]), inF: d, outF: d)
            let K = naiveLinear(kx, rows: lk, Array(w[(d * d)..<(2 * d * d)]), Array(bias[d..<(2 * d)]), inF: d, outF: d)
            let V = naiveLinear(kx, rows: lk, Array(w[(2 * d * d)...]), Array(bias[(2 * d)...]), inF: d, outF: d)
            var ctx = [Double](repeating: 0, count: lq * d)
            for hh in 0..<heads { for i in 0..<lq {
                var s = [Double](repeating: 0, count: lk)
                for j in 0..<lk {
                    var dot = 0.0
                    for c in 0..<hd { dot += Q[i * d + hh * hd + c] * K[j * d + hh * hd + c] }
                    s[j] = dot / Double(hd).squareRoot()
                }
                let a = naiveSoftmax(s)
                for c in 0..<hd {
                    var acc = 0.0
                    for j in 0..<lk { acc += a[j] * V[j * d + hh * hd + c] }
                    ctx[i * d + hh * hd + c] = acc
                }
            } }
            ref += naiveLinear(ctx, rows: lq, p["a.out_proj.weight"], p["a.out_proj.bias"], inF: d, outF: d)
        }
        #expect(maxDiff(y, ref) < 1e-5)
    }

    /// CA: Z = A·W·Vᵀ; V̂ from the row softmax of Z, Â from its column softmax; tanh(X + X̂).
    @Test func vanillaCrossAttentionMatchesDefinition() throws {
        let d = 5, l = 4, b = 2
        let p = RandomParameters()
        p.add("c.corr_weights", [d, d])
        let store = try p.store()
        let ca = CrossAttention(store.root.scope("c"), dim: d)
        try store.finish()
        let video = random("cv", [b, l, d]), audio = random("ca", [b, l, d])
        let (vOut, aOut) = ca(video: video, audio: audio, threads: 2)
        let w = p["c.corr_weights"]
        var refV: [Double] = [], refA: [Double] = []
        for bi in 0..<b {
            let A = (0..<(l * d)).map { Double(audio[bi * l * d + $0]) }, V = (0..<(l * d)).map { Double(video[bi * l * d + $0]) }
            var z = [[Double]](repeating: [Double](repeating: 0, count: l), count: l)
            for i in 0..<l { for j in 0..<l {
                var s = 0.0
                for p1 in 0..<d { for p2 in 0..<d { s += A[i * d + p1] * w[p1 * d + p2] * V[j * d + p2] } }
                z[i][j] = s
            } }
            for i in 0..<l {
                let a = naiveSoftmax(z[i])   // over video times j
                refV += (0..<d).map { c in Foundation.tanh(V[i * d + c] + (0..<l).map { a[$0] * V[$0 * d + c] }.reduce(0, +)) }
            }
            for j in 0..<l {
                let a = naiveSoftmax((0..<l).map { z[$0][j] })   // over audio times i
                refA += (0..<d).map { c in Foundation.tanh(A[j * d + c] + (0..<l).map { a[$0] * A[$0 * d + c] }.reduce(0, +)) }
            }
        }
        #expect(maxDiff(vOut, refV) < 1e-5)
        #expect(maxDiff(aOut, refA) < 1e-5)
    }

    /// DCNLayer with unequal widths (d1 = 3, d2 = 2), L = 4 and two stacked sub-layers, against the formulas.
    @Test func jointCrossAttentionMatchesDefinition() throws {
        let d1 = 3, d2 = 2, dd = 5, l = 4, b = 2, count = 2
        let p = RandomParameters()
        for i in 0..<count {
            let a = "j.dcn_layers.\(i).dense_coattn."
            p.add(a + "query_linear.weight", [dd, dd]); p.add(a + "query_linear.bias", [dd])
            p.add(a + "key1_linear.weight", [l, l]); p.add(a + "key1_linear.bias", [l])
            p.add(a + "key2_linear.weight", [l, l]); p.add(a + "key2_linear.bias", [l])
            p.add(a + "value1_linear.weight", [d1, d1]); p.add(a + "value1_linear.bias", [d1])
            p.add(a + "value2_linear.weight", [d2, d2]); p.add(a + "value2_linear.bias", [d2])
            p.add("j.dcn_layers.\(i).linears.0.0.weight", [d1, dd]); p.add("j.dcn_layers.\(i).linears.0.0.bias", [d1])
            p.add("j.dcn_layers.\(i).linears.1.0.weight", [d2, dd]); p.add("j.dcn_layers.\(i).linears.1.0.bias", [d2])
        }
        let store = try p.store()
        let dcn = JointCrossAttention(store.root.scope("j"), videoDim: d1, audioDim: d2, count: count, sequenceLength: l)
        try store.finish()
        let video = random("jv", [b, l, d1]), audio = random("ja", [b, l, d2])
        let (vOut, aOut) = dcn(video: video, audio: audio, threads: 2)

        var refV: [Double] = [], refA: [Double] = []
        for bi in 0..<b {
            var x1 = (0..<(l * d1)).map { Double(video[bi * l * d1 + $0]) }
            var x2 = (0..<(l * d2)).map { Double(audio[bi * l * d2 + $0]) }
            for i in 0..<count {
                let a = "j.dcn_layers.\(i).dense_coattn."
                var joint: [Double] = []
                for t in 0..<l { joint += Array(x1[(t * d1)..<((t + 1) * d1)]) + Array(x2[(t * d2)..<((t + 1) * d2)]) }
                let q = naiveLinear(joint, rows: l, p[a + "query_linear.weight"], p[a + "query_linear.bias"], inF: dd, outF: dd)
                func branch(_ x: [Double], _ d: Int, _ k: String, _ v: String, _ out: String) -> [Double] {
                    // K[c, t'] = Σ_t x[t, c]·Wk[t', t] + bk[t']
                    let wk = p[a + k + ".weight"], bk = p[a + k + ".bias"]
                    var key = [Double](repeating: 0, count: d * l)
                    for c in 0..<d { for t2 in 0..<l {
                        var acc = bk[t2]
                        for t in 0..<l { acc += x[t * d + c] * wk[t2 * l + t] }
                        key[c * l + t2] = acc
                    } }
                    let value = naiveLinear(x, rows: l, p[a + v + ".weight"], p[a + v + ".bias"], inF: d, outF: d)
                    var s = [Double](repeating: 0, count: d * dd)
                    for c in 0..<d { for j in 0..<dd {
                        var acc = 0.0
                        for t in 0..<l { acc += key[c * l + t] * q[t * dd + j] }
                        s[c * dd + j] = Foundation.tanh(acc / Double(dd).squareRoot())
                    } }
                    var h = [Double](repeating: 0, count: l * dd)
                    for t in 0..<l { for j in 0..<dd {
                        var acc = 0.0
                        for c in 0..<d { acc += value[t * d + c] * s[c * dd + j] }
                        h[t * dd + j] = max(Foundation.tanh(acc), 0)
                    } }
                    let u = naiveLinear(h, rows: l, p[out + ".weight"], p[out + ".bias"], inF: dd, outF: d)
                    return zip(x, u).map { $0 + max($1, 0) }
                }
                let n1 = branch(x1, d1, "key1_linear", "value1_linear", "j.dcn_layers.\(i).linears.0.0")
                let n2 = branch(x2, d2, "key2_linear", "value2_linear", "j.dcn_layers.\(i).linears.1.0")
                x1 = n1; x2 = n2
            }
            refV += x1; refA += x2
        }
        #expect(maxDiff(vOut, refV) < 1e-5)
        #expect(maxDiff(aOut, refA) < 1e-5)
    }
}
