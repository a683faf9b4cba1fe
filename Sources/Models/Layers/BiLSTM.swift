import Foundation
import Kernels

/// The JCA-family LSTM wrapper (`models/layer.py:LSTM`, heads.md §1.3), "BiLSTMwrap(e→h, n)":
/// a batch-first bidirectional LSTM with h/2 units per direction and n layers, learned initial states,
/// then output = L2normalize(Linear(h+e → h)(concat[input, lstm_out])) — input first.
///
/// State-dict names: `init_hidden` (4n, h/2), `linear.{weight,bias}`, `rnn.{weight_ih,weight_hh,bias_ih,bias_hh}_l{k}[_reverse]`.
/// `init_hidden` rows 0…2n−1 are h0 and 2n…4n−1 are c0, each ordered l0 fwd, l0 bwd, l1 fwd, …; the same states
/// start every batch item. Gates in PyTorch order i, f, g, o; both biases are added. Dropout is the identity (eval).
public struct BiLSTM: Sendable {
    /// One direction of one layer: W_ih (4H, in), W_hh (4H, H), b_ih, b_hh (4H).
    struct Direction: Sendable {
        let weightIH: Tensor, weightHH: Tensor, biasIH: Tensor, biasHH: Tensor
        let inFeatures: Int
    }

    public let inputSize: Int
    public let hiddenSize: Int      // h (both directions together)
    public let layerCount: Int
    let directions: [[Direction]]   // [layer][0 = forward, 1 = reverse]
    let initHidden: Tensor
    let linear: Linear

    public init(_ p: ParameterScope, input: Int, hidden: Int, layers: Int) {
        precondition(hidden % 2 == 0)
        inputSize = input
        hiddenSize = hidden
        layerCount = layers
        let h = hidden / 2
        initHidden = p("init_hidden", [4 * layers, h])
        linear = Linear(p.scope("linear"), in: hidden + input, out: hidden)
        let rnn = p.scope("rnn")
        var dirs: [[Direction]] = []
        for k in 0..<layers {
            let inF = k == 0 ? input : hidden
            dirs.append(["", "_reverse"].map { suffix in
                Direction(weightIH: rnn("weight_ih_l\(k)\(suffix)", [4 * h, inF]),
                          weightHH: rnn("weight_hh_l\(k)\(suffix)", [4 * h, h]),
                          biasIH: rnn("bias_ih_l\(k)\(suffix)", [4 * h]),
                          biasHH: rnn("bias_hh_l\(k)\(suffix)", [4 * h]),
                          inFeatures: inF)
            })
        }
        directions = dirs
    }

    /// x (B, L, input) → (B, L, hidden).
    public func callAsFunction(_ x: Tensor, threads: Int) -> Tensor {
        precondition(x.rank == 3 && x.shape[2] == inputSize, "BiLSTM \(inputSize)→\(hiddenSize) given \(x.shape)")
        var layerInput = x
        for k in 0..<layerCount {
            layerInput = runLayer(k, layerInput, threads: threads)
        }
        let joined = Functional.concatLast(x, layerInput)
        let y = linear(joined, threads: threads)
        Functional.l2NormalizeInPlace(y)
        return y
    }

    /// The raw bidirectional LSTM output of layer k: (B, L, 2H), forward half first.
    func runLayer(_ k: Int, _ x: Tensor, threads: Int) -> Tensor {
        let b = x.shape[0], l = x.shape[1], inF = x.shape[2]
        let h = hiddenSize / 2, g4 = 4 * h
        let out = Tensor(zeros: [b, l, 2 * h])
        let gates = Tensor(zeros: [b, l, g4])
        let state = Tensor(zeros: [b, h]), cell = Tensor(zeros: [b, h])
        for d in 0..<2 {
            let dir = directions[k][d]
            // Input projection for every time step at once: G = X·W_ihᵀ + b_ih + b_hh.
            let bsum = dir.biasIH.pointer, bhh = dir.biasHH.pointer
            let gp = gates.pointer
            for r in 0..<(b * l) {
                let row = gp + r &* g4
                for j in 0..<g4 { row[j] = bsum[j] + bhh[j] }
            }
            sgemm(transB: true, m: b * l, n: g4, k: inF, a: x.pointer, lda: inF, b: dir.weightIH.pointer, ldb: inF,
                  beta: 1, c: gp, ldc: g4, threads: threads)
            // Learned initial states, shared by the batch.
            let h0 = initHidden.pointer + (2 * k + d) &* h
            let c0 = initHidden.pointer + (2 * layerCount + 2 * k + d) &* h
            for i in 0..<b {
                (state.pointer + i &* h).update(from: h0, count: h)
                (cell.pointer + i &* h).update(from: c0, count: h)
            }
            for step in 0..<l {
                let t = d == 0 ? step : l - 1 - step
                // Rows (i, t) of G for every batch item i are L·4H apart: add W_hh·h in place.
                // Matrix-vector products: a GEMM would re-pack W_hh at every step, which costs more than the product.
                let gt = gp + t &* g4
                for i in 0..<b {
                    sgemv(m: g4, n: h, a: dir.weightHH.pointer, lda: h, x: state.pointer + i &* h,
                          beta: 1, y: gt + i &* l &* g4, threads: threads)
                }
                for i in 0..<b {
                    let gr = gt + i &* l &* g4
                    let hs = state.pointer + i &* h, cs = cell.pointer + i &* h
                    let outRow: Int = (i &* l &+ t) &* (2 &* h)
                    let o = out.pointer + (outRow &+ d &* h)
                    for j in 0..<h {
                        let ig = sigmoid(gr[j]), fg = sigmoid(gr[h &+ j])
                        let gg = Foundation.tanh(gr[2 &* h &+ j]), og = sigmoid(gr[3 &* h &+ j])
                        let c = fg * cs[j] + ig * gg
                        cs[j] = c
                        let hv = og * Foundation.tanh(c)
                        hs[j] = hv
                        o[j] = hv
                    }
                }
            }
        }
        return out
    }
}

@inline(__always) func sigmoid(_ x: Float) -> Float { 1 / (1 + Foundation.exp(-x)) }
