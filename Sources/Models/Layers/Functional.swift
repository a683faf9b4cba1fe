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

    /// tanh of every element, 8 lanes at a time (`tanh8`); the tail goes through the same lanes, so a value's
    /// result never depends on its position.
    public static func tanhInPlace(_ x: Tensor) {
        let p = x.pointer, n = x.count
        var i = 0
        while i &+ 8 <= n {
            let raw = UnsafeMutableRawPointer(p + i)
            raw.storeBytes(of: tanh8(raw.loadUnaligned(as: SIMD8<Float>.self)), as: SIMD8<Float>.self)
            i &+= 8
        }
        if i < n {
            var lanes = SIMD8<Float>(repeating: 0)
            for j in 0..<(n &- i) { lanes[j] = p[i &+ j] }
            lanes = tanh8(lanes)
            for j in 0..<(n &- i) { p[i &+ j] = lanes[j] }
        }
    }

    /// tanh(x) = sign(x)·m/(m + 2) with m = e^{2|x|} − 1. After range reduction 2|x| = n·ln2 + r (|r| ≤ ln2/2),
    /// m = expm1(r)·2ⁿ + (2ⁿ − 1) takes a single rounding (2ⁿ and 2ⁿ − 1 are exact), so the result keeps a small
    /// *relative* error near 0 as well (checked against double precision in HeadsLayerTests: ≤ 4 ulp, |err| < 1.2e-7).
    /// |x| is clamped at 9, where tanh rounds to 1 within float precision; NaN stays NaN.
    @inline(__always)
    public static func tanh8(_ x: SIMD8<Float>) -> SIMD8<Float> {
        let signMask = SIMD8<UInt32>(repeating: 0x8000_0000)
        let bits = unsafeBitCast(x, to: SIMD8<UInt32>.self)
        var a = unsafeBitCast(bits & ~signMask, to: SIMD8<Float>.self)
        a.replace(with: 9, where: a .> 9)
        let y = a + a
        // n = round(y / ln2): adding 1.5·2²³ leaves the rounded integer in the low mantissa bits.
        let magic = SIMD8<Float>(repeating: 12_582_912)
        let shifted = y * SIMD8<Float>(repeating: 1.442_695_040_888_963_4) + magic
        let n = shifted - magic
        let r = (y - n * SIMD8<Float>(repeating: 0.693_359_375)) + n * SIMD8<Float>(repeating: 2.121_944_40e-4)
        // expm1(r) by its Taylor series to r⁸ (remainder < 1e-9 relative on |r| ≤ 0.347).
        var q = SIMD8<Float>(repeating: 1.0 / 40320)
        q = q * r + SIMD8<Float>(repeating: 1.0 / 5040)
        q = q * r + SIMD8<Float>(repeating: 1.0 / 720)
        q = q * r + SIMD8<Float>(repeating: 1.0 / 120)
        q = q * r + SIMD8<Float>(repeating: 1.0 / 24)
        q = q * r + SIMD8<Float>(repeating: 1.0 / 6)
        q = q * r + SIMD8<Float>(repeating: 0.5)
        q = q * r + SIMD8<Float>(repeating: 1)
        let expm1r = q * r
        let k = unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- unsafeBitCast(magic, to: SIMD8<Int32>.self)
        let scale = unsafeBitCast((k &+ 127) &<< 23, to: SIMD8<Float>.self)
        let m = expm1r * scale + (scale - SIMD8<Float>(repeating: 1))
        let t = m / (m + SIMD8<Float>(repeating: 2))
        return unsafeBitCast(unsafeBitCast(t, to: SIMD8<UInt32>.self) | (bits & signMask), to: SIMD8<Float>.self)
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
