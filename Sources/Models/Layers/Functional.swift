import Foundation
import Kernels

/// Parameter-free operations on (…, features) tensors, each a plain loop over the last axis.
/// Dropout never appears: the heads only run in evaluation mode, where it is the identity.
public enum Functional {
    /// `F.normalize(x, dim=-1)`: x / max(‖x‖₂, 1e-12) along the last axis.
    public static func l2Normalize(_ x: Tensor) -> Tensor {
        let out = x.copy()
        l2NormalizeInPlace(out)
        return out
    }

    public static func l2NormalizeInPlace(_ x: Tensor) {
        let d = x.shape.last ?? 1
        guard d > 0 else { return }
        let rows = x.count / d
        let p = x.pointer
        for r in 0..<rows {
            let row = p + r &* d
            var s: Float = 0
            for j in 0..<d { s += row[j] * row[j] }
            let scale = 1 / max(s.squareRoot(), 1e-12)
            for j in 0..<d { row[j] *= scale }
        }
    }

    /// Softmax over each contiguous row of `n` values, in place (max-subtracted).
    @inline(__always)
    public static func softmaxRow(_ row: UnsafeMutablePointer<Float>, _ n: Int, scale: Float = 1) {
        var m = -Float.infinity
        for j in 0..<n { m = max(m, row[j] * scale) }
        var s: Float = 0
        for j in 0..<n { let e = Foundation.exp(row[j] * scale - m); row[j] = e; s += e }
        let inv = 1 / s
        for j in 0..<n { row[j] *= inv }
    }

    /// Softmax along the last axis, in place; `scale` multiplies the logits first (1/T for gates).
    public static func softmaxLastInPlace(_ x: Tensor, scale: Float = 1) {
        let d = x.shape.last ?? 1
        guard d > 0 else { return }
        for r in 0..<(x.count / d) { softmaxRow(x.pointer + r &* d, d, scale: scale) }
    }

    public static func reluInPlace(_ x: Tensor) {
        let p = x.pointer
        for i in 0..<x.count { p[i] = max(p[i], 0) }
    }

    public static func tanhInPlace(_ x: Tensor) {
        let p = x.pointer
        for i in 0..<x.count { p[i] = Foundation.tanh(p[i]) }
    }

    /// a + b, elementwise (same shapes).
    public static func add(_ a: Tensor, _ b: Tensor) -> Tensor {
        precondition(a.shape == b.shape, "add: \(a.shape) vs \(b.shape)")
        let out = a.copy()
        let o = out.pointer, q = b.pointer
        for i in 0..<out.count { o[i] += q[i] }
        return out
    }

    /// Concatenation along the last axis: (…, da) ++ (…, db) → (…, da + db).
    public static func concatLast(_ a: Tensor, _ b: Tensor) -> Tensor {
        let da = a.shape.last!, db = b.shape.last!
        precondition(Array(a.shape.dropLast()) == Array(b.shape.dropLast()), "concat: \(a.shape) vs \(b.shape)")
        let rows = a.count / max(da, 1)
        let out = Tensor(zeros: Array(a.shape.dropLast()) + [da + db])
        let o = out.pointer, pa = a.pointer, pb = b.pointer
        let width = da + db
        for r in 0..<rows {
            let start: Int = r &* width
            (o + start).update(from: pa + r &* da, count: da)
            (o + (start &+ da)).update(from: pb + r &* db, count: db)
        }
        return out
    }

    /// Drops a trailing axis of size 1: (B, L, 1) → (B, L).
    public static func squeezeLast(_ x: Tensor) -> Tensor {
        precondition(x.shape.last == 1, "squeezeLast: \(x.shape)")
        return x.reshaped(Array(x.shape.dropLast()))
    }
}
