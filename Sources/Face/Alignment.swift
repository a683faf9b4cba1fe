// Face alignment: a least-squares similarity transform (Umeyama, 2-D, no reflection) from landmarks to a
// fixed 112×112 template, and an affine warp of the RGB frame with bilinear interpolation and a black border.
import Foundation

/// x' = a·x − b·y + tx, y' = b·x + a·y + ty: rotation, uniform scale and translation.
public struct SimilarityTransform: Sendable, Equatable {
    public var a: Double
    public var b: Double
    public var tx: Double
    public var ty: Double

    public init(a: Double, b: Double, tx: Double, ty: Double) { self.a = a; self.b = b; self.tx = tx; self.ty = ty }

    public static let identity = SimilarityTransform(a: 1, b: 0, tx: 0, ty: 0)

    public var scale: Double { (a * a + b * b).squareRoot() }
    public var rotation: Double { atan2(b, a) }

    public func apply(_ x: Double, _ y: Double) -> (x: Double, y: Double) {
        (a * x - b * y + tx, b * x + a * y + ty)
    }

    public var inverse: SimilarityTransform {
        let d = a * a + b * b
        let ia = a / d, ib = -b / d
        return SimilarityTransform(a: ia, b: ib, tx: -(ia * tx - ib * ty), ty: -(ib * tx + ia * ty))
    }

    /// The least-squares similarity mapping `source[i]` onto `target[i]` (Umeyama 1991 in 2-D): centre both
    /// point sets, a = Σ(s·t)/Σ|s|², b = Σ(s×t)/Σ|s|², then the translation that maps the centroids.
    public static func estimate(from source: [(x: Double, y: Double)], to target: [(x: Double, y: Double)]) -> SimilarityTransform? {
        let n = source.count
        guard n >= 2, target.count == n else { return nil }
        var msx = 0.0, msy = 0.0, mtx = 0.0, mty = 0.0
        for i in 0..<n { msx += source[i].x; msy += source[i].y; mtx += target[i].x; mty += target[i].y }
        msx /= Double(n); msy /= Double(n); mtx /= Double(n); mty /= Double(n)
        var dot = 0.0, cross = 0.0, norm = 0.0
        for i in 0..<n {
            let sx = source[i].x - msx, sy = source[i].y - msy
            let tx = target[i].x - mtx, ty = target[i].y - mty
            dot += sx * tx + sy * ty
            cross += sx * ty - sy * tx
            norm += sx * sx + sy * sy
        }
        guard norm > 1e-12 else { return nil }
        let a = dot / norm, b = cross / norm
        return SimilarityTransform(a: a, b: b, tx: mtx - (a * msx - b * msy), ty: mty - (b * msx + a * msy))
    }
}

/// The aligned-crop template: five points (eye centres, nose tip, mouth corners) in a 112×112 crop.
public struct AlignmentTemplate: Sendable {
    public var size: Int
    public var points: [(x: Double, y: Double)]

    /// The 112×112 five-point template of ArcFace / insightface (`arcface_dst` of `insightface/utils/face_align.py`:
    /// eyes, nose tip, mouth corners), scaled about the crop centre by `zoom` (< 1 leaves more margin around the face).
    public static func fivePoint112(zoom: Double = 1) -> AlignmentTemplate {
        let base: [(x: Double, y: Double)] = [(38.2946, 51.6963), (73.5318, 51.5014), (56.0252, 71.7366), (41.5493, 92.3655), (70.7299, 92.2041)]
        return AlignmentTemplate(size: 112, points: base.map { (56 + ($0.x - 56) * zoom, 56 + ($0.y - 56) * zoom) })
    }
}

public enum AffineWarp {
    /// Warps packed RGB `source` (w×h) into a `size`×`size` RGB crop: crop pixel (u, v) takes the source value at
    /// `toSource(u, v)` (integer coordinates at pixel centres, as `cv2.warpAffine`), bilinear, pixels outside the frame
    /// black (`BORDER_CONSTANT`, 0) — how insightface's `norm_crop` makes ArcFace crops.
    public static func warpRGB(_ source: [UInt8], width: Int, height: Int, toSource t: SimilarityTransform, size: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: size * size * 3)
        if width <= 0 || height <= 0 { return out }
        source.withUnsafeBufferPointer { srcBuffer in
            out.withUnsafeMutableBufferPointer { dstBuffer in
                let src = srcBuffer.baseAddress!, dst = dstBuffer.baseAddress!
                let w = Double(width), h = Double(height)
                for v in 0..<size {
                    for u in 0..<size {
                        let sx = t.a * Double(u) - t.b * Double(v) + t.tx
                        let sy = t.b * Double(u) + t.a * Double(v) + t.ty
                        let fx = sx.rounded(.down), fy = sy.rounded(.down)
                        if fx < -1 || fy < -1 || fx >= w || fy >= h { continue }
                        let x0 = Int(fx), y0 = Int(fy)
                        let ax = sx - fx, ay = sy - fy
                        let o = dst + (v &* size &+ u) &* 3
                        if x0 >= 0 && y0 >= 0 && x0 &+ 1 < width && y0 &+ 1 < height {
                            // All four taps inside the frame.
                            let p00 = src + (y0 &* width &+ x0) &* 3, p10 = p00 + width &* 3
                            let w00 = (1 - ax) * (1 - ay), w01 = ax * (1 - ay), w10 = (1 - ax) * ay, w11 = ax * ay
                            for c in 0..<3 {
                                let value = w00 * Double(p00[c]) + w01 * Double(p00[c &+ 3]) + w10 * Double(p10[c]) + w11 * Double(p10[c &+ 3])
                                o[c] = clampByte(value)
                            }
                        } else {
                            // At the border: taps outside are black.
                            var r = 0.0, g = 0.0, b = 0.0
                            for j in 0..<2 {
                                let yy = y0 &+ j
                                if yy < 0 || yy >= height { continue }
                                let wy = j == 0 ? 1 - ay : ay
                                for i in 0..<2 {
                                    let xx = x0 &+ i
                                    if xx < 0 || xx >= width { continue }
                                    let wgt = (i == 0 ? 1 - ax : ax) * wy
                                    let p = src + (yy &* width &+ xx) &* 3
                                    r += wgt * Double(p[0]); g += wgt * Double(p[1]); b += wgt * Double(p[2])
                                }
                            }
                            o[0] = clampByte(r); o[1] = clampByte(g); o[2] = clampByte(b)
                        }
                    }
                }
            }
        }
        return out
    }

    /// Rounded to the nearest level (halves up; the values are never negative), clamped to 0…255.
    @inline(__always) static func clampByte(_ v: Double) -> UInt8 {
        UInt8(max(0, min(255, (v + 0.5).rounded(.down))))
    }
}
