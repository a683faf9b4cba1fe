// dlib's ensemble-of-regression-trees shape predictor (Kazemi & Sullivan 2014), read natively from dlib's
// serialized `.dat` (e.g. Debian libdlib-data's shape_predictor_68_face_landmarks.dat) and evaluated here.
import Foundation

public struct ShapePredictorError: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}

/// A cascade of regression forests refining a mean face shape inside a face box.
public struct ShapePredictor: Sendable {
    struct Split: Sendable { var idx1: Int32; var idx2: Int32; var threshold: Float }

    /// Mean shape in box-normalized coordinates (x0, y0, x1, y1, …), (0,0) = box top-left, (1,1) = bottom-right.
    public let initialShape: [Float]
    // The forests, flattened: tree t has `splitsPerTree` splits from `splits[t·splitsPerTree]` and
    // `splitsPerTree + 1` leaves of `2·landmarks` values from `leafValues[t·(splitsPerTree+1)·dims]`;
    // level l owns trees `levelTrees[l] ..< levelTrees[l+1]`. (dlib's trees are complete, all of one depth.)
    let splits: [Split]
    let leafValues: [Float]
    let splitsPerTree: Int
    let levelTrees: [Int]
    /// Per cascade level: for each feature pixel, the landmark it is anchored to and its offset (normalized units).
    let anchors: [[Int32]]
    let deltas: [[(Float, Float)]]

    public var landmarkCount: Int { initialShape.count / 2 }
    public var cascadeDepth: Int { levelTrees.count - 1 }

    public init(contentsOfFile path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ShapePredictorError("cannot read landmark model \(path) (install the Debian package libdlib-data: run 'make deps')")
        }
        try self.init(serialized: [UInt8](data), source: path)
    }

    public init(serialized bytes: [UInt8], source: String) throws {
        var r = DlibReader(bytes: bytes, source: source)
        let version = try r.int()
        guard version == 1 else { throw ShapePredictorError("\(source): shape_predictor version \(version), expected 1") }
        initialShape = try r.floatColumn()
        guard !initialShape.isEmpty, initialShape.count % 2 == 0 else {
            throw ShapePredictorError("\(source): initial shape has \(initialShape.count) values")
        }
        let dims = initialShape.count
        let levels = try r.count(limit: 1000)
        var splits: [Split] = []
        var leafValues: [Float] = []
        var levelTrees = [0]
        var splitsPerTree = -1
        for _ in 0..<levels {
            let trees = try r.count(limit: 100_000)
            for _ in 0..<trees {
                let splitCount = try r.count(limit: 1 << 20)
                if splitsPerTree < 0 { splitsPerTree = splitCount }
                guard splitCount == splitsPerTree else {
                    throw ShapePredictorError("\(source): trees of different sizes (\(splitCount) and \(splitsPerTree) splits) are not supported")
                }
                for _ in 0..<splitCount {
                    let a = try r.int(), b = try r.int()
                    let t = try r.float()
                    splits.append(Split(idx1: Int32(truncatingIfNeeded: a), idx2: Int32(truncatingIfNeeded: b), threshold: t))
                }
                let leafCount = try r.count(limit: 1 << 21)
                guard leafCount == splitCount + 1 else {
                    throw ShapePredictorError("\(source): tree with \(splitCount) splits has \(leafCount) leaves")
                }
                for _ in 0..<leafCount {
                    let v = try r.floatColumn()
                    guard v.count == dims else { throw ShapePredictorError("\(source): leaf with \(v.count) values, expected \(dims)") }
                    leafValues += v
                }
            }
            levelTrees.append(levelTrees.last! + trees)
        }
        let anchorLevels = try r.count(limit: 1000)
        var anchors: [[Int32]] = []
        for _ in 0..<anchorLevels {
            let n = try r.count(limit: 1 << 20)
            var a: [Int32] = []
            for _ in 0..<n {
                let v = try r.int()
                guard v >= 0, v < dims / 2 else { throw ShapePredictorError("\(source): anchor index \(v) out of range") }
                a.append(Int32(v))
            }
            anchors.append(a)
        }
        let deltaLevels = try r.count(limit: 1000)
        var deltas: [[(Float, Float)]] = []
        for _ in 0..<deltaLevels {
            let n = try r.count(limit: 1 << 20)
            var d: [(Float, Float)] = []
            for _ in 0..<n { d.append((try r.float(), try r.float())) }
            deltas.append(d)
        }
        guard anchors.count == levels, deltas.count == levels else {
            throw ShapePredictorError("\(source): \(levels) forests but \(anchors.count) anchor and \(deltas.count) delta sets")
        }
        let perTree = max(0, splitsPerTree)
        for lvl in 0..<levels {
            let pixels = anchors[lvl].count
            guard deltas[lvl].count == pixels else { throw ShapePredictorError("\(source): level \(lvl) anchors/deltas differ") }
            for s in splits[(levelTrees[lvl] * perTree)..<(levelTrees[lvl + 1] * perTree)]
            where s.idx1 < 0 || Int(s.idx1) >= pixels || s.idx2 < 0 || Int(s.idx2) >= pixels {
                throw ShapePredictorError("\(source): split references feature pixel \(s.idx1)/\(s.idx2) of \(pixels)")
            }
        }
        guard r.atEnd else { throw ShapePredictorError("\(source): \(r.remaining) trailing bytes after the shape predictor") }
        self.splits = splits
        self.leafValues = leafValues
        self.splitsPerTree = perTree
        self.levelTrees = levelTrees
        self.anchors = anchors
        self.deltas = deltas
    }

    /// Landmarks (x, y) in image pixels for the face in `box`. The box is read like dlib's rectangle:
    /// its corners are (x, y) and (x + width − 1, y + height − 1).
    public func predict(_ image: GrayImage, box: FaceBox) -> [(x: Float, y: Float)] {
        let dims = initialShape.count
        var shape = initialShape
        let left = Float(box.x), top = Float(box.y)
        let sw = Float(max(1, box.width - 1)), sh = Float(max(1, box.height - 1))
        var pixelValues: [Float] = []
        for level in 0..<cascadeDepth {
            // Similarity (rotation+scale only) from the mean shape to the current shape.
            let (a, b) = Self.similarityLinearPart(from: initialShape, to: shape)
            let anchor = anchors[level], delta = deltas[level]
            pixelValues = [Float](repeating: 0, count: anchor.count)
            image.pixels.withUnsafeBufferPointer { img in
                for i in 0..<anchor.count {
                    let (dx, dy) = delta[i]
                    let k = Int(anchor[i])
                    let nx = a * dx - b * dy + shape[2 * k]
                    let ny = b * dx + a * dy + shape[2 * k + 1]
                    let px = (left + nx * sw).rounded(), py = (top + ny * sh).rounded()
                    if px >= 0, py >= 0, px < Float(image.width), py < Float(image.height) {
                        pixelValues[i] = img[Int(py) &* image.width &+ Int(px)]
                    }
                }
            }
            let n = splitsPerTree
            splits.withUnsafeBufferPointer { sp in
            leafValues.withUnsafeBufferPointer { lv in
            pixelValues.withUnsafeBufferPointer { px in
            shape.withUnsafeMutableBufferPointer { sh in
                for t in levelTrees[level]..<levelTrees[level + 1] {
                    let first = t &* n
                    var i = 0
                    while i < n {
                        let s = sp[first &+ i]
                        i = px[Int(s.idx1)] - px[Int(s.idx2)] > s.threshold ? 2 &* i &+ 1 : 2 &* i &+ 2
                    }
                    let base = (t &* (n &+ 1) &+ (i &- n)) &* dims
                    for d in 0..<dims { sh[d] += lv[base &+ d] }
                }
            }}}}
        }
        return (0..<(dims / 2)).map { k in (left + shape[2 * k] * sw, top + shape[2 * k + 1] * sh) }
    }

    /// The least-squares similarity transform's linear part [[a, −b], [b, a]] mapping shape `from` onto `to`
    /// (both centred first); dlib's find_similarity_transform restricted to the 2×2 matrix.
    static func similarityLinearPart(from: [Float], to: [Float]) -> (Float, Float) {
        let n = from.count / 2
        var mfx: Float = 0, mfy: Float = 0, mtx: Float = 0, mty: Float = 0
        for k in 0..<n { mfx += from[2 * k]; mfy += from[2 * k + 1]; mtx += to[2 * k]; mty += to[2 * k + 1] }
        let inv = 1 / Float(n)
        mfx *= inv; mfy *= inv; mtx *= inv; mty *= inv
        var sxx: Float = 0, sxy: Float = 0, var2: Float = 0
        for k in 0..<n {
            let fx = from[2 * k] - mfx, fy = from[2 * k + 1] - mfy
            let tx = to[2 * k] - mtx, ty = to[2 * k + 1] - mty
            sxx += fx * tx + fy * ty
            sxy += fx * ty - fy * tx
            var2 += fx * fx + fy * fy
        }
        if var2 <= 0 { return (1, 0) }
        return (sxx / var2, sxy / var2)
    }
}

/// dlib's portable serialization: integers as a control byte (bit 7 = negative, low 4 bits = byte count)
/// followed by that many little-endian magnitude bytes; floats as (int64 mantissa, int16 exponent) pairs,
/// value = mantissa · 2^exponent; matrices as −rows, −columns, then the elements; vectors as count then items.
struct DlibReader {
    let bytes: [UInt8]
    let source: String
    var position = 0

    var atEnd: Bool { position == bytes.count }
    var remaining: Int { bytes.count - position }

    mutating func int() throws -> Int64 {
        guard position < bytes.count else { throw ShapePredictorError("\(source): unexpected end of file at byte \(position)") }
        let control = bytes[position]
        position += 1
        let size = Int(control & 0x0F)
        guard size <= 8, control & 0x70 == 0 else { throw ShapePredictorError("\(source): bad integer control byte \(control) at \(position - 1)") }
        guard position + size <= bytes.count else { throw ShapePredictorError("\(source): truncated integer at byte \(position)") }
        var magnitude: UInt64 = 0
        for k in 0..<size { magnitude |= UInt64(bytes[position + k]) << UInt64(8 * k) }
        position += size
        let value = Int64(bitPattern: magnitude)
        return control & 0x80 != 0 ? -value : value
    }

    mutating func count(limit: Int) throws -> Int {
        let n = try int()
        guard n >= 0, n <= Int64(limit) else { throw ShapePredictorError("\(source): implausible count \(n) at byte \(position)") }
        return Int(n)
    }

    mutating func float() throws -> Float {
        let mantissa = try int()
        let exponent = try int()
        // dlib's special exponents for non-finite values.
        switch exponent {
        case 32000: return .infinity
        case 32001: return -.infinity
        case 32002: return .nan
        default: return Float(Double(sign: .plus, exponent: 0, significand: 1) * Double(mantissa) * pow(2.0, Double(exponent)))
        }
    }

    /// A dlib column vector `matrix<float,0,1>`.
    mutating func floatColumn() throws -> [Float] {
        var rows = try int(), cols = try int()
        if rows < 0 { rows = -rows }   // the negated sizes mark dlib's current matrix format
        if cols < 0 { cols = -cols }
        guard cols == 1 || rows == 0, rows <= 1 << 20 else { throw ShapePredictorError("\(source): expected a column vector, got \(rows)×\(cols)") }
        var out: [Float] = []
        out.reserveCapacity(Int(rows))
        for _ in 0..<(rows * max(cols, 1)) { out.append(try float()) }
        return out
    }
}

extension ShapePredictor {
    /// The square box in which this model's mean shape best matches `landmarks` (least squares over scale and
    /// translation): the box the model expects for this face. Used to refine a detector box before re-predicting.
    public func expectedBox(for landmarks: [(x: Float, y: Float)]) -> FaceBox {
        let n = landmarkCount
        var msx = 0.0, msy = 0.0, mlx = 0.0, mly = 0.0
        for k in 0..<n {
            msx += Double(initialShape[2 * k]); msy += Double(initialShape[2 * k + 1])
            mlx += Double(landmarks[k].x); mly += Double(landmarks[k].y)
        }
        msx /= Double(n); msy /= Double(n); mlx /= Double(n); mly /= Double(n)
        var num = 0.0, den = 0.0
        for k in 0..<n {
            let sx = Double(initialShape[2 * k]) - msx, sy = Double(initialShape[2 * k + 1]) - msy
            num += sx * (Double(landmarks[k].x) - mlx) + sy * (Double(landmarks[k].y) - mly)
            den += sx * sx + sy * sy
        }
        let s = den > 0 ? max(1, num / den) : 1
        // predict() maps normalized u to left + u·(w − 1).
        return FaceBox(x: mlx - s * msx, y: mly - s * msy, width: s + 1, height: s + 1)
    }

    /// Predicts, then re-predicts `refinements` times from the box the model expects for the previous result.
    public func predictRefined(_ image: GrayImage, box: FaceBox, refinements: Int = 1) -> (landmarks: [(x: Float, y: Float)], box: FaceBox) {
        var b = box
        var lm = predict(image, box: b)
        for _ in 0..<refinements {
            b = expectedBox(for: lm)
            lm = predict(image, box: b)
        }
        return (lm, expectedBox(for: lm))
    }
}
