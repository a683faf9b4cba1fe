// Single-channel float images: the grayscale frame the detector and the landmark model read.

/// A grayscale image, row-major, values 0…255 stored as Float.
public struct GrayImage: Sendable {
    public let width: Int
    public let height: Int
    public var pixels: [Float]

    public init(width: Int, height: Int, pixels: [Float]) {
        precondition(width >= 0 && height >= 0 && pixels.count == width * height, "GrayImage: \(pixels.count) pixels for \(width)×\(height)")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    public init(width: Int, height: Int, fill: Float = 0) {
        self.init(width: width, height: height, pixels: [Float](repeating: fill, count: width * height))
    }

    /// Luma (ITU-R BT.601: 0.299 R + 0.587 G + 0.114 B) of packed RGB bytes, row-major without padding.
    public init(rgb: [UInt8], width: Int, height: Int) {
        precondition(rgb.count == width * height * 3, "GrayImage: \(rgb.count) bytes for \(width)×\(height) RGB")
        var out = [Float](repeating: 0, count: width * height)
        rgb.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for i in 0..<(width * height) {
                    let r = Float(src[i &* 3]), g = Float(src[i &* 3 &+ 1]), b = Float(src[i &* 3 &+ 2])
                    dst[i] = 0.299 * r + 0.587 * g + 0.114 * b
                }
            }
        }
        self.init(width: width, height: height, pixels: out)
    }

    @inline(__always) public subscript(x: Int, y: Int) -> Float { pixels[y * width + x] }

    /// Mirror image (left ↔ right).
    public func mirrored() -> GrayImage {
        var out = pixels
        for y in 0..<height {
            let row = y * width
            for x in 0..<width { out[row + x] = pixels[row + width - 1 - x] }
        }
        return GrayImage(width: width, height: height, pixels: out)
    }

    /// Downscale by box-averaging (area interpolation) to `newWidth`×`newHeight` (each ≤ the current size);
    /// each output pixel is the area-weighted mean of the source pixels it covers.
    public func downscaled(toWidth newWidth: Int, height newHeight: Int) -> GrayImage {
        precondition(newWidth >= 1 && newHeight >= 1 && newWidth <= width && newHeight <= height)
        if newWidth == width && newHeight == height { return self }
        let sx = Double(width) / Double(newWidth), sy = Double(height) / Double(newHeight)
        // Horizontal pass: width → newWidth for every row.
        var horizontal = [Float](repeating: 0, count: newWidth * height)
        let xSpans = Self.spans(count: newWidth, scale: sx, limit: width)
        let ySpans = Self.spans(count: newHeight, scale: sy, limit: height)
        pixels.withUnsafeBufferPointer { src in
            horizontal.withUnsafeMutableBufferPointer { dst in
                for y in 0..<height {
                    let row = y &* width
                    for (ox, span) in xSpans.enumerated() {
                        var acc: Float = 0
                        for (ix, w) in span { acc += w * src[row &+ ix] }
                        dst[y &* newWidth &+ ox] = acc
                    }
                }
            }
        }
        var out = [Float](repeating: 0, count: newWidth * newHeight)
        horizontal.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for (oy, span) in ySpans.enumerated() {
                    let orow = oy &* newWidth
                    for (iy, w) in span {
                        let irow = iy &* newWidth
                        for x in 0..<newWidth { dst[orow &+ x] += w * src[irow &+ x] }
                    }
                }
            }
        }
        return GrayImage(width: newWidth, height: newHeight, pixels: out)
    }

    /// For each output index, the source indices it covers and their normalized weights.
    private static func spans(count: Int, scale: Double, limit: Int) -> [[(Int, Float)]] {
        (0..<count).map { o in
            let a = Double(o) * scale, b = min(Double(limit), Double(o + 1) * scale)
            var list: [(Int, Float)] = []
            var i = Int(a)
            while Double(i) < b && i < limit {
                let lo = max(a, Double(i)), hi = min(b, Double(i + 1))
                if hi > lo { list.append((i, Float((hi - lo) / (b - a)))) }
                i += 1
            }
            return list
        }
    }

    /// Bilinear resize (pixel centres aligned, like OpenCV's INTER_LINEAR), used for the detector pyramid.
    public func resizedBilinear(toWidth newWidth: Int, height newHeight: Int) -> GrayImage {
        precondition(newWidth >= 1 && newHeight >= 1)
        let sx = Float(width) / Float(newWidth), sy = Float(height) / Float(newHeight)
        var xi0 = [Int](repeating: 0, count: newWidth), xi1 = xi0, xw = [Float](repeating: 0, count: newWidth)
        for x in 0..<newWidth {
            var fx = (Float(x) + 0.5) * sx - 0.5
            fx = max(0, min(fx, Float(width - 1)))
            let i0 = Int(fx)
            xi0[x] = i0; xi1[x] = min(i0 + 1, width - 1); xw[x] = fx - Float(i0)
        }
        var out = [Float](repeating: 0, count: newWidth * newHeight)
        pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for y in 0..<newHeight {
                    var fy = (Float(y) + 0.5) * sy - 0.5
                    fy = max(0, min(fy, Float(height - 1)))
                    let y0 = Int(fy), y1 = min(y0 + 1, height - 1), wy = fy - Float(y0)
                    let r0 = y0 &* width, r1 = y1 &* width, o = y &* newWidth
                    for x in 0..<newWidth {
                        let a = src[r0 &+ xi0[x]] + (src[r0 &+ xi1[x]] - src[r0 &+ xi0[x]]) * xw[x]
                        let b = src[r1 &+ xi0[x]] + (src[r1 &+ xi1[x]] - src[r1 &+ xi0[x]]) * xw[x]
                        dst[o &+ x] = a + (b - a) * wy
                    }
                }
            }
        }
        return GrayImage(width: newWidth, height: newHeight, pixels: out)
    }
}
