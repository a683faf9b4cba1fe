// Axis-aligned boxes in image pixels, their overlap measures, and OpenCV-style grouping of raw detections.

/// A box in pixel coordinates (top-left x, y; width, height) with a detection score.
public struct FaceBox: Sendable, Equatable, CustomStringConvertible {
    public var x: Double
    public var y: Double
    public var width: Double
    public var height: Double
    /// For grouped detections: the number of raw windows merged into this box (OpenCV's "neighbours").
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

enum BoxGrouping {
    /// OpenCV's `groupRectangles`: cluster raw boxes whose corners all lie within
    /// eps·(min width + min height)/2 of each other, average each cluster, keep clusters with more than
    /// `minNeighbors` members, then drop clusters lying inside a stronger one. Score = cluster size.
    static func group(_ boxes: [FaceBox], minNeighbors: Int, eps: Double = 0.2) -> [FaceBox] {
        let n = boxes.count
        if n == 0 { return [] }
        var parent = Array(0..<n)
        func root(_ i: Int) -> Int {
            var i = i
            while parent[i] != i { parent[i] = parent[parent[i]]; i = parent[i] }
            return i
        }
        for i in 0..<n {
            for j in (i + 1)..<n where similar(boxes[i], boxes[j], eps: eps) {
                let a = root(i), b = root(j)
                if a != b { parent[b] = a }
            }
        }
        var sums: [Int: (x: Double, y: Double, w: Double, h: Double, n: Int)] = [:]
        var order: [Int] = []
        for i in 0..<n {
            let r = root(i)
            if sums[r] == nil { order.append(r) }
            var s = sums[r] ?? (0, 0, 0, 0, 0)
            s.x += boxes[i].x; s.y += boxes[i].y; s.w += boxes[i].width; s.h += boxes[i].height; s.n += 1
            sums[r] = s
        }
        let clusters: [FaceBox] = order.compactMap { r in
            let s = sums[r]!
            guard s.n > minNeighbors else { return nil }
            let k = Double(s.n)
            return FaceBox(x: (s.x / k).rounded(), y: (s.y / k).rounded(), width: (s.w / k).rounded(), height: (s.h / k).rounded(), score: k)
        }
        // Remove boxes inside another cluster's box that has more support.
        var keep: [FaceBox] = []
        for (i, a) in clusters.enumerated() {
            var inside = false
            for (j, b) in clusters.enumerated() where i != j {
                let dx = (b.width * eps).rounded(), dy = (b.height * eps).rounded()
                if a.x >= b.x - dx, a.y >= b.y - dy, a.x + a.width <= b.x + b.width + dx, a.y + a.height <= b.y + b.height + dy,
                   b.score > max(3, a.score) || a.score < 3 {
                    inside = true
                    break
                }
            }
            if !inside { keep.append(a) }
        }
        return keep
    }

    static func similar(_ a: FaceBox, _ b: FaceBox, eps: Double) -> Bool {
        let delta = eps * (min(a.width, b.width) + min(a.height, b.height)) * 0.5
        return abs(a.x - b.x) <= delta && abs(a.y - b.y) <= delta &&
            abs(a.x + a.width - b.x - b.width) <= delta && abs(a.y + a.height - b.y - b.height) <= delta
    }

    /// Greedy non-maximum suppression across detectors: keep the highest-scoring box, drop boxes overlapping it
    /// by IoU above `threshold`.
    static func suppress(_ boxes: [FaceBox], threshold: Double) -> [FaceBox] {
        var rest = boxes.sorted { $0.score > $1.score }
        var keep: [FaceBox] = []
        while let first = rest.first {
            keep.append(first)
            rest = rest.dropFirst().filter { $0.iou(first) <= threshold }
        }
        return keep
    }
}
