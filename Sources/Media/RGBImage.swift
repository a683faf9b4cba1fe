/// An 8-bit RGB image: `pixels` holds width·height·3 bytes, row-major, no padding.
public struct RGBImage: Sendable, Equatable {
    public let width: Int
    public let height: Int
    public var pixels: [UInt8]

    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(width >= 0 && height >= 0 && pixels.count == width * height * 3, "RGB buffer size mismatch")
        self.width = width; self.height = height; self.pixels = pixels
    }

    /// An all-black image.
    public init(black width: Int, _ height: Int) {
        self.init(width: width, height: height, pixels: [UInt8](repeating: 0, count: width * height * 3))
    }

    /// The RGB triple at (x, y).
    public func pixel(_ x: Int, _ y: Int) -> (UInt8, UInt8, UInt8) {
        let o = (y * width + x) * 3
        return (pixels[o], pixels[o + 1], pixels[o + 2])
    }

    /// The image turned clockwise by 90, 180 or 270 degrees (other angles: unchanged).
    public func rotatedClockwise(_ degrees: Int) -> RGBImage {
        let d = ((degrees % 360) + 360) % 360
        guard d == 90 || d == 180 || d == 270 else { return self }
        let (w, h) = (width, height)
        let (ow, oh) = d == 180 ? (w, h) : (h, w)
        var out = [UInt8](repeating: 0, count: pixels.count)
        pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for y in 0..<h {
                    for x in 0..<w {
                        let (nx, ny): (Int, Int)
                        switch d {
                        case 90: (nx, ny) = (h - 1 - y, x)
                        case 180: (nx, ny) = (w - 1 - x, h - 1 - y)
                        default: (nx, ny) = (y, w - 1 - x)
                        }
                        let s = (y &* w &+ x) &* 3, t = (ny &* ow &+ nx) &* 3
                        dst[t] = src[s]; dst[t + 1] = src[s + 1]; dst[t + 2] = src[s + 2]
                    }
                }
            }
        }
        return RGBImage(width: ow, height: oh, pixels: out)
    }
}
