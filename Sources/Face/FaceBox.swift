// Axis-aligned boxes in image pixels and their overlap.

/// A box in pixel coordinates (top-left x, y; width, height) with a detection score.
public struct FaceBox: Sendable, Equatable, CustomStringConvertible {
    public var x: Double
    public var y: Double
    public var width: Double
    public var height: Double
    /// The detector's face probability (0 when unknown).
    public var score: Double

    public init(x: Double, y: Double, width: Double, height: Double, score: Double = 0) {
        self.x = x; self.y = y; self.width = width; self.height = height; self.score = score
    }

    public var area: Double { max(0, width) * max(0, height) }
    public var centerX: Double { x + width / 2 }
    public var centerY: Double { y + height / 2 }

    /// Intersection over union with another box (0 when either is empty).
    public func iou(_ other: FaceBox) -> Double {
        let ix = max(0, min(x + width, other.x + other.width) - max(x, other.x))
        let iy = max(0, min(y + height, other.y + other.height) - max(y, other.y))
        let inter = ix * iy
        let union = area + other.area - inter
        return union > 0 ? inter / union : 0
    }

    public func scaled(by s: Double) -> FaceBox {
        FaceBox(x: x * s, y: y * s, width: width * s, height: height * s, score: score)
    }

    public var description: String {
        "(\(Int(x.rounded())), \(Int(y.rounded())), \(Int(width.rounded()))×\(Int(height.rounded())), score \(score))"
    }
}
