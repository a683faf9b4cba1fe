// MTCNN face detection (Zhang, Zhang, Li, Qiao 2016) as facenet-pytorch 2.6.0's `MTCNN.detect` does it
// (`models/utils/detect_face.py`, `detect_face`): the same pyramid, resampling, thresholds, NMS, box regression and
// squaring, in float32 like the reference, so the same pixels give the same boxes, probabilities and five landmarks.
import Foundation
import Kernels
import Media

/// One detected face, in source-image pixels, as `MTCNN.detect(img, landmarks=True)` returns it.
public struct FaceDetection: Sendable, Equatable {
    /// Box corners (x1, y1) top-left, (x2, y2) bottom-right; may extend past the image.
    public var x1: Double, y1: Double, x2: Double, y2: Double
    /// O-Net's face probability.
    public var score: Double
    /// Left eye, right eye, nose tip, left mouth corner, right mouth corner ("left" = smaller x in an upright face).
    public var landmarks: [FacePoint]

    public init(x1: Double, y1: Double, x2: Double, y2: Double, score: Double, landmarks: [FacePoint]) {
        self.x1 = x1; self.y1 = y1; self.x2 = x2; self.y2 = y2; self.score = score; self.landmarks = landmarks
    }

    public var width: Double { x2 - x1 }
    public var height: Double { y2 - y1 }
    /// The box as (x, y, width, height).
    public var box: FaceBox { FaceBox(x: x1, y: y1, width: x2 - x1, height: y2 - y1, score: score) }
}

/// A point in image pixels.
public struct FacePoint: Sendable, Equatable {
    public var x: Double, y: Double
    public init(x: Double, y: Double) { self.x = x; self.y = y }
}

/// MTCNN's three networks: immutable once loaded, shared by every input and thread of a process.
public struct MTCNN: Sendable {
    public let pnet: PNet, rnet: RNet, onet: ONet

    public init(pnet: PNet, rnet: RNet, onet: ONet) { self.pnet = pnet; self.rnet = rnet; self.onet = onet }

    /// Loads `pnet.safetensors`, `rnet.safetensors` and `onet.safetensors` from `directory`
    /// (`FaceModelPaths.directory` by default: what `make` converts from the facenet-pytorch wheel).
    public init(directory: String = FaceModelPaths.directory) throws {
        let paths = try FaceModelPaths.files(in: directory)
        self.init(pnet: try PNet(path: paths.pnet), rnet: try RNet(path: paths.rnet), onet: try ONet(path: paths.onet))
    }

    /// `MTCNN.detect`'s settings (facenet-pytorch's defaults).
    public struct Options: Sendable, Equatable {
        /// Smallest face searched, in image pixels (`min_face_size`): the pyramid starts at scale 12 / minFaceSize.
        public var minFaceSize: Double = 20
        /// Face-probability thresholds of P-Net (≥), R-Net (>) and O-Net (>).
        public var thresholds: (Double, Double, Double) = (0.6, 0.7, 0.7)
        /// Pyramid step (`factor`).
        public var factor: Double = 0.709
        public init() {}
        public static func == (a: Options, b: Options) -> Bool {
            a.minFaceSize == b.minFaceSize && a.thresholds == b.thresholds && a.factor == b.factor
        }
    }

    /// Crops per network call in stages 2 and 3 (bounds the buffers; the results do not depend on it).
    static let batch = 128
    /// Frames up to this many pixels (4K UHD) get a summed-area table per detection.
    static let largestTabledFrame = 3840 * 2160

    /// Every face in `image`, largest box first (`select_largest=True`), as `MTCNN.detect(img, landmarks=True)`.
    public func detect(_ image: RGBImage, options: Options = Options(), threads: Int,
                       workspace: MTCNNWorkspace = MTCNNWorkspace()) -> [FaceDetection] {
        let h = image.height, w = image.width
        guard h >= 1, w >= 1, image.pixels.count == w * h * 3 else { return [] }
        return image.pixels.withUnsafeBufferPointer { px -> [FaceDetection] in
            let src = RGBSource(pixels: px.baseAddress!, width: w, height: h)
            var boxes = proposals(src, options: options, threads: threads, workspace: workspace)
            boxes = refinement(src, boxes, threshold: Float(options.thresholds.1), threads: threads, workspace: workspace)
            let out = output(src, boxes, threshold: Float(options.thresholds.2), threads: threads, workspace: workspace)
            workspace.tableIsCurrent = false
            // Largest first (np.argsort of the float32 areas, reversed; ties: the later one first, as reversing does).
            let order = out.indices.sorted { i, j in
                let ai = out[i].area, aj = out[j].area
                return ai != aj ? ai > aj : i > j
            }
            return order.map { out[$0].detection }
        }
    }

    /// O-Net (stage 3 alone) on given boxes, for tracking: each box is squared as MTCNN squares R-Net's boxes, cropped,
    /// resampled to 48×48 and scored. Returns, per box, the regressed box, probability and landmarks, whatever the
    /// probability (nil when the box lies outside the image). Unlike `detect`, whose crops follow facenet-pytorch
    /// (clipped at the frame's edges, so a face at the edge is squeezed), the part of a box beyond the frame is black,
    /// as in the original MTCNN: a face leaving the frame keeps its shape and the box does not drift.
    public func refine(_ image: RGBImage, boxes: [FaceBox], threads: Int, workspace: MTCNNWorkspace = MTCNNWorkspace()) -> [FaceDetection?] {
        let h = image.height, w = image.width
        guard h >= 1, w >= 1, image.pixels.count == w * h * 3, !boxes.isEmpty else { return boxes.map { _ in nil } }
        return image.pixels.withUnsafeBufferPointer { px -> [FaceDetection?] in
            let src = RGBSource(pixels: px.baseAddress!, width: w, height: h)
            var candidates = boxes.map { b in
                Candidate(x1: Float(b.x), y1: Float(b.y), x2: Float(b.x + b.width), y2: Float(b.y + b.height), score: 0)
            }
            for i in candidates.indices { candidates[i].square() }
            let scored = runONet(src, candidates, padded: true, threads: threads, workspace: workspace)
            return scored.map { $0?.detection }
        }
    }

    // MARK: - Stage 1: P-Net over the pyramid

    /// Pyramid scales: 12/minFaceSize · factorᵏ while the shorter side still holds a 12-pixel window (in Double, as
    /// Python computes them).
    static func scales(width: Int, height: Int, options: Options) -> [Double] {
        let m = 12.0 / options.minFaceSize
        var minl = Double(min(height, width)) * m
        var scale = m
        var out: [Double] = []
        while minl >= 12 {
            out.append(scale)
            scale *= options.factor
            minl *= options.factor
        }
        return out
    }

    func proposals(_ src: RGBSource, options: Options, threads: Int, workspace ws: MTCNNWorkspace) -> [Candidate] {
        var pooled: [Candidate] = []
        // Every level is resampled from the full image: one summed-area table makes each cost only its own size (and
        // serves the crops of stages 2 and 3). Above 4K (≥ 400 MB of table at 8K) each level reads the frame instead.
        let table: SummedAreaTable? = src.width * src.height <= Self.largestTabledFrame ? ws.table : nil
        table?.build(src.pixels, width: src.width, height: src.height, rowStride: src.width * 3, channels: 3)
        ws.tableIsCurrent = table != nil
        for scale in Self.scales(width: src.width, height: src.height, options: options) {
            // imresample: area interpolation to (int(h·scale + 1), int(w·scale + 1)), then (x − 127.5) · 0.0078125.
            let hs = Int(Double(src.height) * scale + 1), wsz = Int(Double(src.width) * scale + 1)
            guard PNet.outputSize(height: hs, width: wsz) != nil else { continue }
            let input = ws.input.reserve(hs * wsz * 3)
            if let table {
                AreaResize.resize(table: table, outWidth: wsz, outHeight: hs, into: input, shift: 127.5, scale: 0.0078125)
            } else {
                AreaResize.resize(src.pixels, width: src.width, height: src.height, rowStride: src.width * 3, channels: 3,
                                  outWidth: wsz, outHeight: hs, into: input, shift: 127.5, scale: 0.0078125)
            }
            let (map, oh, ow) = pnet.forward(input, height: hs, width: wsz, workspace: ws, threads: threads)
            // generateBoundingBox: cells with probability ≥ threshold, in row-major order; the window of cell (x, y) is
            // floor((2·(x, y) + 1) / scale) … floor((2·(x, y) + 12) / scale), in float32.
            let sf = Float(scale), threshold = Float(options.thresholds.0)
            var level: [Candidate] = []
            for y in 0..<oh {
                for x in 0..<ow {
                    let cell = map + (y * ow + x) * 6
                    let p = faceProbability(cell[0], cell[1])
                    guard p >= threshold else { continue }
                    let bx = Float(x), by = Float(y)
                    var c = Candidate(x1: ((2 * bx + 1) / sf).rounded(.down), y1: ((2 * by + 1) / sf).rounded(.down),
                                      x2: ((2 * bx + 12) / sf).rounded(.down), y2: ((2 * by + 12) / sf).rounded(.down), score: p)
                    c.regression = SIMD4(cell[2], cell[3], cell[4], cell[5])
                    level.append(c)
                }
            }
            pooled += NonMaximumSuppression.union(level, threshold: 0.5).map { level[$0] }
        }
        var boxes = NonMaximumSuppression.union(pooled, threshold: 0.7).map { pooled[$0] }
        // P-Net's regression is scaled by the box size without the +1 of `bbreg`, then the box is squared.
        for i in boxes.indices {
            let b = boxes[i], r = b.regression
            let rw = b.x2 - b.x1, rh = b.y2 - b.y1
            boxes[i] = Candidate(x1: b.x1 + r[0] * rw, y1: b.y1 + r[1] * rh, x2: b.x2 + r[2] * rw, y2: b.y2 + r[3] * rh, score: b.score)
            boxes[i].square()
        }
        return boxes
    }

    // MARK: - Stage 2: R-Net on 24×24 crops

    func refinement(_ src: RGBSource, _ boxes: [Candidate], threshold: Float, threads: Int, workspace ws: MTCNNWorkspace) -> [Candidate] {
        let boxes = boxes.filter { src.cropRegion($0) != nil }
        guard !boxes.isEmpty else { return [] }
        var passed: [Candidate] = []
        var start = 0
        while start < boxes.count {
            let n = min(Self.batch, boxes.count - start)
            let side = RNet.architecture.inputSize, per = side * side * 3
            let input = ws.input.reserve(n * per)
            for k in 0..<n { src.resizeCrop(boxes[start + k], side: side, into: input + k * per, table: ws.currentTable, workspace: ws) }
            let out = rnet.network.forward(input, count: n, workspace: ws, threads: threads)
            for k in 0..<n {
                let row = out + k * 6
                let p = faceProbability(row[0], row[1])
                guard p > threshold else { continue }
                var c = boxes[start + k]
                c.score = p
                c.regression = SIMD4(row[2], row[3], row[4], row[5])
                passed.append(c)
            }
            start += n
        }
        var kept = NonMaximumSuppression.union(passed, threshold: 0.7).map { passed[$0] }
        for i in kept.indices {
            kept[i].applyRegression()
            kept[i].square()
        }
        return kept
    }

    // MARK: - Stage 3: O-Net on 48×48 crops

    func output(_ src: RGBSource, _ boxes: [Candidate], threshold: Float, threads: Int, workspace ws: MTCNNWorkspace) -> [Candidate] {
        let scored = runONet(src, boxes, padded: false, threads: threads, workspace: ws).compactMap { $0 }.filter { $0.score > threshold }
        return NonMaximumSuppression.minimum(scored, threshold: 0.7).map { scored[$0] }
    }

    /// O-Net on each box: probability, landmarks (from the box as cropped) and the regressed box; nil for boxes with
    /// no pixels inside the image. `padded`: crops extend past the frame with black instead of being clipped.
    func runONet(_ src: RGBSource, _ boxes: [Candidate], padded: Bool, threads: Int, workspace ws: MTCNNWorkspace) -> [Candidate?] {
        var results = [Candidate?](repeating: nil, count: boxes.count)
        let valid = boxes.indices.filter { src.cropRegion(boxes[$0]) != nil }
        var start = 0
        while start < valid.count {
            let n = min(Self.batch, valid.count - start)
            let side = ONet.architecture.inputSize, per = side * side * 3
            let input = ws.input.reserve(n * per)
            for k in 0..<n {
                if padded {
                    src.resizePaddedCrop(boxes[valid[start + k]], side: side, into: input + k * per, workspace: ws)
                } else {
                    src.resizeCrop(boxes[valid[start + k]], side: side, into: input + k * per, table: ws.currentTable, workspace: ws)
                }
            }
            let out = onet.network.forward(input, count: n, workspace: ws, threads: threads)
            for k in 0..<n {
                let row = out + k * 16
                var c = boxes[valid[start + k]]
                c.score = faceProbability(row[0], row[1])
                // Landmarks relative to the box as it was cropped (+1 sizes, −1 offsets, as facenet-pytorch).
                let bw = c.x2 - c.x1 + 1, bh = c.y2 - c.y1 + 1
                var pts = [Float](repeating: 0, count: 10)
                for j in 0..<5 {
                    pts[2 * j] = bw * row[6 + j] + c.x1 - 1
                    pts[2 * j + 1] = bh * row[11 + j] + c.y1 - 1
                }
                c.points = pts
                c.regression = SIMD4(row[2], row[3], row[4], row[5])
                c.applyRegression()
                results[valid[start + k]] = c
            }
            start += n
        }
        return results
    }
}

/// A candidate box of the three-stage cascade (P-Net, R-Net, O-Net), in float32 like the reference's tensors.
struct Candidate {
    var x1: Float, y1: Float, x2: Float, y2: Float
    var score: Float
    var regression = SIMD4<Float>()
    var points: [Float] = []

    init(x1: Float, y1: Float, x2: Float, y2: Float, score: Float) {
        self.x1 = x1; self.y1 = y1; self.x2 = x2; self.y2 = y2; self.score = score
    }

    /// `rerec`: the square of side max(w, h) with the same centre (w = x2 − x1, no +1).
    mutating func square() {
        let h = y2 - y1, w = x2 - x1
        let l = max(w, h)
        x1 = x1 + w * 0.5 - l * 0.5
        y1 = y1 + h * 0.5 - l * 0.5
        x2 = x1 + l
        y2 = y1 + l
    }

    /// `bbreg`: each side moves by its regression value times the box size (+1 sizes).
    mutating func applyRegression() {
        let w = x2 - x1 + 1, h = y2 - y1 + 1
        let r = regression
        (x1, y1, x2, y2) = (x1 + r[0] * w, y1 + r[1] * h, x2 + r[2] * w, y2 + r[3] * h)
    }

    var area: Float { (x2 - x1) * (y2 - y1) }

    var detection: FaceDetection {
        FaceDetection(x1: Double(x1), y1: Double(y1), x2: Double(x2), y2: Double(y2), score: Double(score),
                      landmarks: (0..<5).map { FacePoint(x: Double(points.count == 10 ? points[2 * $0] : 0),
                                                         y: Double(points.count == 10 ? points[2 * $0 + 1] : 0)) })
    }
}

/// The 8-bit RGB image the networks read, and its crops.
struct RGBSource {
    let pixels: UnsafePointer<UInt8>
    let width: Int, height: Int

    /// `pad`: the box truncated to integers and clipped to the image, as the pixel rectangle
    /// [x − 1, ex) × [y − 1, ey) facenet-pytorch crops; nil when that rectangle is empty (a box with no pixel in the
    /// image — the reference would fail there, see docs/face.md).
    func cropRegion(_ b: Candidate) -> (x0: Int, y0: Int, x1: Int, y1: Int)? {
        func trunc(_ v: Float) -> Int { Int(max(-2e9, min(2e9, v.rounded(.towardZero)))) }
        let x = max(1, trunc(b.x1)), y = max(1, trunc(b.y1))
        let ex = min(width, trunc(b.x2)), ey = min(height, trunc(b.y2))
        guard ey > y - 1, ex > x - 1 else { return nil }
        return (x - 1, y - 1, ex, ey)
    }

    /// The box's pixel rectangle [trunc(x1) − 1, trunc(x2)) × [trunc(y1) − 1, trunc(y2)) (`pad`'s, without clipping),
    /// black outside the frame, resampled to side × side and normalised. Inside the frame it is `resizeCrop`.
    func resizePaddedCrop(_ b: Candidate, side: Int, into out: UnsafeMutablePointer<Float>, workspace ws: MTCNNWorkspace) {
        func trunc(_ v: Float) -> Int { Int(max(-1e8, min(1e8, v.rounded(.towardZero)))) }
        let x0 = trunc(b.x1) - 1, y0 = trunc(b.y1) - 1, x1 = trunc(b.x2), y1 = trunc(b.y2)
        let w = x1 - x0, h = y1 - y0
        if (x0 >= 0 && y0 >= 0 && x1 <= width && y1 <= height) || w < 1 || h < 1 || w * h > 1 << 24 {
            return resizeCrop(b, side: side, into: out, table: nil, workspace: ws)
        }
        let bytes = ws.patch.reserveBytes(w * h * 3)
        bytes.initialize(repeating: 0, count: w * h * 3)
        let cx0 = max(0, x0), cx1 = min(width, x1)
        if cx1 > cx0 {
            for y in max(0, y0)..<min(height, y1) {
                (bytes + ((y - y0) * w + (cx0 - x0)) * 3).update(from: pixels + (y * width + cx0) * 3, count: (cx1 - cx0) * 3)
            }
        }
        AreaResize.resize(bytes, width: w, height: h, rowStride: w * 3, channels: 3, outWidth: side, outHeight: side, into: out,
                          shift: 127.5, scale: 0.0078125)
    }

    /// The box's crop resampled to side × side by area interpolation and normalised, channels-last: from `table` (the
    /// frame's summed-area table) when given, else from the crop's pixels.
    func resizeCrop(_ b: Candidate, side: Int, into out: UnsafeMutablePointer<Float>, table: SummedAreaTable?, workspace ws: MTCNNWorkspace) {
        let r = cropRegion(b)!
        if let table {
            AreaResize.resize(table: table, x0: r.x0, y0: r.y0, width: r.x1 - r.x0, height: r.y1 - r.y0,
                              outWidth: side, outHeight: side, into: out, shift: 127.5, scale: 0.0078125)
        } else {
            AreaResize.resize(pixels + (r.y0 * width + r.x0) * 3, width: r.x1 - r.x0, height: r.y1 - r.y0, rowStride: width * 3,
                              channels: 3, outWidth: side, outHeight: side, into: out, shift: 127.5, scale: 0.0078125)
        }
    }
}

/// The two non-maximum suppressions of facenet-pytorch's MTCNN.
enum NonMaximumSuppression {
    /// torchvision's `nms` (CPU kernel; `batched_nms` of one image is the same): by score, descending (stable), keep a
    /// box and drop every later one whose IoU with it is > threshold; area = (x2 − x1)(y2 − y1), float32.
    /// Returns the kept indices, highest score first.
    static func union(_ boxes: [Candidate], threshold: Double) -> [Int] {
        let order = boxes.indices.sorted { boxes[$0].score != boxes[$1].score ? boxes[$0].score > boxes[$1].score : $0 < $1 }
        var suppressed = [Bool](repeating: false, count: boxes.count)
        var keep: [Int] = []
        for (a, i) in order.enumerated() where !suppressed[i] {
            keep.append(i)
            let bi = boxes[i], areaI = bi.area
            for j in order[(a + 1)...] where !suppressed[j] {
                let bj = boxes[j]
                let w = max(0, min(bi.x2, bj.x2) - max(bi.x1, bj.x1))
                let h = max(0, min(bi.y2, bj.y2) - max(bi.y1, bj.y1))
                let inter = w * h
                if Double(inter / (areaI + bj.area - inter)) > threshold { suppressed[j] = true }
            }
        }
        return keep
    }

    /// facenet-pytorch's `nms_numpy(..., 'Min')` after O-Net: the highest score (numpy's argsort, last element) is kept,
    /// boxes overlapping it by intersection / smaller area > threshold are dropped; areas and intersections with +1
    /// (pixel-inclusive), float32.
    static func minimum(_ boxes: [Candidate], threshold: Float) -> [Int] {
        // Ascending by score; ties keep index order (numpy's sort of small arrays), so the later index is taken first.
        var order = boxes.indices.sorted { boxes[$0].score != boxes[$1].score ? boxes[$0].score < boxes[$1].score : $0 < $1 }
        var keep: [Int] = []
        while let i = order.popLast() {
            keep.append(i)
            let bi = boxes[i]
            let areaI = (bi.x2 - bi.x1 + 1) * (bi.y2 - bi.y1 + 1)
            order = order.filter { j in
                let bj = boxes[j]
                let w = max(0, min(bi.x2, bj.x2) - max(bi.x1, bj.x1) + 1)
                let h = max(0, min(bi.y2, bj.y2) - max(bi.y1, bj.y1) + 1)
                let areaJ = (bj.x2 - bj.x1 + 1) * (bj.y2 - bj.y1 + 1)
                return (w * h) / min(areaI, areaJ) <= threshold
            }
        }
        return keep
    }
}
