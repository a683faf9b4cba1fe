// Summed-area tables for the cascade detector: sums and squared sums of any rectangle in O(1).

/// Integral image with a zero first row and column: `sum[(y)·stride + x]` is the sum of the
/// source pixels with row < y and column < x; `stride = width + 1`. Values are rounded to whole gray levels
/// (as the cascades were trained on 8-bit images), so the sums are exact in Double.
public struct IntegralImage: Sendable {
    public let width: Int
    public let height: Int
    public var stride: Int { width + 1 }
    public private(set) var sum: [Double]
    public private(set) var squaredSum: [Double]

    public init(_ image: GrayImage) {
        width = image.width
        height = image.height
        let stride = image.width + 1
        var s = [Double](repeating: 0, count: stride * (image.height + 1))
        var q = s
        image.pixels.withUnsafeBufferPointer { src in
            s.withUnsafeMutableBufferPointer { sp in
                q.withUnsafeMutableBufferPointer { qp in
                    for y in 0..<image.height {
                        var rowSum = 0.0, rowSq = 0.0
                        let above = y &* stride, here = (y &+ 1) &* stride
                        for x in 0..<image.width {
                            let v = Double(min(255, max(0, src[y &* image.width &+ x].rounded())))
                            rowSum += v
                            rowSq += v * v
                            sp[here &+ x &+ 1] = sp[above &+ x &+ 1] + rowSum
                            qp[here &+ x &+ 1] = qp[above &+ x &+ 1] + rowSq
                        }
                    }
                }
            }
        }
        sum = s
        squaredSum = q
    }

    /// An integral image from precomputed tables (each `(width+1)·(height+1)` long, zero first row and column).
    public init(width: Int, height: Int, sum: [Double], squaredSum: [Double]) {
        precondition(sum.count == (width + 1) * (height + 1) && squaredSum.count == sum.count)
        self.width = width
        self.height = height
        self.sum = sum
        self.squaredSum = squaredSum
    }

    /// Sum of the pixels in the rectangle [x, x+w) × [y, y+h).
    public func rectSum(x: Int, y: Int, w: Int, h: Int) -> Double {
        let st = stride
        return sum[y * st + x] - sum[y * st + x + w] - sum[(y + h) * st + x] + sum[(y + h) * st + x + w]
    }

    public func rectSquaredSum(x: Int, y: Int, w: Int, h: Int) -> Double {
        let st = stride
        return squaredSum[y * st + x] - squaredSum[y * st + x + w] - squaredSum[(y + h) * st + x] + squaredSum[(y + h) * st + x + w]
    }
}
