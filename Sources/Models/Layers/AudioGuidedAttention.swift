import Foundation
import Kernels

/// `video_attn` (`models/audguide_att.py`, heads.md §1.2): audio-guided attention over the 49 rows of the
/// visual feature, reproduced with the reference's two quirks:
/// - the 25 088-d layer4 vector is reinterpreted in raw row-major order as (49, 512): rows are consecutive
///   512-float chunks of the channel-major flatten, not per-cell channel vectors;
/// - the audio term of the score, affine_g(a′) of shape (n, 49), is broadcast along the *hidden* axis and
///   indexed by the *cell* axis: content[n, p, h] = affine_v(v′)[n, p, h] + affine_g(a′)[n, p].
/// Then z = affine_h(tanh(content)), α = softmax over the 49 cells, c = Σ_p α_p·V_p over the raw rows,
/// output = affine_feat(c). State-dict prefix: `video_attn.attn.`.
public struct AudioGuidedAttention: Sendable {
    public static let cells = 49
    public static let rowSize = 512

    let affineAudio: Linear, affineVideo: Linear, affineV: Linear, affineG: Linear, affineH: Linear, affineFeat: Linear

    public init(_ p: ParameterScope, audio: Int = 512, hidden: Int = 512) {
        affineAudio = Linear(p.scope("affine_audio"), in: audio, out: hidden)
        affineVideo = Linear(p.scope("affine_video"), in: Self.rowSize, out: hidden)
        affineV = Linear(p.scope("affine_v"), in: hidden, out: Self.cells, bias: false)
        affineG = Linear(p.scope("affine_g"), in: hidden, out: Self.cells, bias: false)
        affineH = Linear(p.scope("affine_h"), in: Self.cells, out: 1, bias: false)
        affineFeat = Linear(p.scope("affine_feat"), in: Self.rowSize, out: hidden)
    }

    /// visual (B, L, 25088), audio (B, L, 512) → (B, L, 512).
    public func callAsFunction(visual: Tensor, audio: Tensor, threads: Int) -> Tensor {
        let cells = Self.cells, rowSize = Self.rowSize
        precondition(visual.rank == 3 && visual.shape[2] == cells * rowSize, "video_attn visual \(visual.shape)")
        precondition(audio.rank == 3 && Array(audio.shape[0..<2]) == Array(visual.shape[0..<2]), "video_attn audio \(audio.shape)")
        let n = visual.shape[0] * visual.shape[1]
        let rows = visual.reshaped([n * cells, rowSize])           // V, the raw rows
        let vPrime = affineVideo(rows, threads: threads); Functional.reluInPlace(vPrime)
        let aPrime = affineAudio(audio.reshaped([n, audio.shape[2]]), threads: threads); Functional.reluInPlace(aPrime)
        let content = affineV(vPrime, threads: threads)                             // (n·49, 49): [n, p, h]
        let g = affineG(aPrime, threads: threads)                                   // (n, 49): [n, p]
        let wh = affineH.weight.pointer                           // (1, 49)
        let pooled = Tensor(zeros: [n, rowSize])
        var alpha = [Float](repeating: 0, count: cells)
        let cp = content.pointer, gp = g.pointer, vp = rows.pointer
        for i in 0..<n {
            for p in 0..<cells {
                let row = cp + (i &* cells &+ p) &* cells
                let gv = gp[i &* cells &+ p]                        // indexed by the cell p, broadcast over h
                var z: Float = 0
                for h in 0..<cells { z += wh[h] * Foundation.tanh(row[h] + gv) }
                alpha[p] = z
            }
            alpha.withUnsafeMutableBufferPointer { Functional.softmaxRow($0.baseAddress!, cells) }
            let out = pooled.pointer + i &* rowSize
            for p in 0..<cells {
                let a = alpha[p]
                let v = vp + (i &* cells &+ p) &* rowSize
                for j in 0..<rowSize { out[j] += a * v[j] }
            }
        }
        return affineFeat(pooled, threads: threads).reshaped([visual.shape[0], visual.shape[1], affineFeat.outFeatures])
    }
}
