// Unit tests of the Face module's parts on data made here: integral image, cascade evaluation (hand-built
// Haar and LBP cascades), grouping, similarity transform, warp, dlib's serialization, and degenerate frames.
import Foundation
import Media
import Testing
@testable import Face

/// A small deterministic generator (xorshift) for test images.
struct TestRandom {
    var state: UInt64
    mutating func next() -> UInt64 { state ^= state << 13; state ^= state >> 7; state ^= state << 17; return state }
    mutating func byte() -> UInt8 { UInt8(truncatingIfNeeded: next() >> 24) }
    mutating func int(_ n: Int) -> Int { Int(next() % UInt64(n)) }
}

func randomGray(_ w: Int, _ h: Int, seed: UInt64) -> GrayImage {
    var r = TestRandom(state: seed)
    return GrayImage(width: w, height: h, pixels: (0..<(w * h)).map { _ in Float(r.byte()) })
}

@Suite struct IntegralImageTests {
    @Test func rectangleSumsMatchDirectSums() {
        let img = randomGray(37, 23, seed: 7)
        let ii = IntegralImage(img)
        var r = TestRandom(state: 99)
        for _ in 0..<200 {
            let x = r.int(37), y = r.int(23)
            let w = r.int(37 - x + 1), h = r.int(23 - y + 1)
            var s = 0.0, q = 0.0
            for yy in y..<(y + h) { for xx in x..<(x + w) { let v = Double(img[xx, yy]); s += v; q += v * v } }
            #expect(ii.rectSum(x: x, y: y, w: w, h: h) == s)
            #expect(ii.rectSquaredSum(x: x, y: y, w: w, h: h) == q)
        }
        #expect(ii.rectSum(x: 0, y: 0, w: 37, h: 23) == img.pixels.reduce(0.0) { $0 + Double($1) })
    }
}

/// A one-stage Haar cascade: one stump on "right half minus whole window" (a left-dark/right-bright edge).
func edgeCascadeXML(threshold: Double, stageThreshold: Double) -> [UInt8] {
    Array("""
    <?xml version="1.0"?>
    <!-- hand-made test cascade -->
    <opencv_storage>
    <cascade type_id="opencv-cascade-classifier"><stageType>BOOST</stageType>
      <featureType>HAAR</featureType>
      <height>6</height>
      <width>6</width>
      <stageParams><maxWeakCount>1</maxWeakCount></stageParams>
      <featureParams><maxCatCount>0</maxCatCount></featureParams>
      <stageNum>1</stageNum>
      <stages>
        <_>
          <maxWeakCount>1</maxWeakCount>
          <stageThreshold>\(stageThreshold)</stageThreshold>
          <weakClassifiers>
            <_>
              <internalNodes>\r\n 0 -1 0 \(threshold)</internalNodes>
              <leafValues>-1. 1.</leafValues></_></weakClassifiers></_></stages>
      <features>
        <_>
          <rects>
            <_>0 0 6 6 -1.</_>
            <_>3 0 3 6 2.</_></rects>
          <tilted>0</tilted></_></features></cascade>
    </opencv_storage>
    """.utf8)
}

@Suite struct CascadeTests {
    /// 6×6 window: left half 40, right half 200.
    func edgeWindow() -> GrayImage {
        var px = [Float](repeating: 0, count: 36)
        for y in 0..<6 { for x in 0..<6 { px[y * 6 + x] = x < 3 ? 40 : 200 } }
        return GrayImage(width: 6, height: 6, pixels: px)
    }

    /// The feature value by hand: (−1·sum(window) + 2·sum(right half)) / (area·σ of the inner 4×4 window).
    func expectedFeature(_ img: GrayImage) -> Double {
        var all = 0.0, right = 0.0
        for y in 0..<6 { for x in 0..<6 { all += Double(img[x, y]); if x >= 3 { right += Double(img[x, y]) } } }
        var s = 0.0, q = 0.0
        for y in 1..<5 { for x in 1..<5 { let v = Double(img[x, y]); s += v; q += v * v } }
        let norm = (16 * q - s * s).squareRoot()
        return (-all + 2 * right) / norm
    }

    @Test func haarStumpFollowsOpenCVSemantics() throws {
        let img = edgeWindow()
        let f = expectedFeature(img)   // (−4320 + 2·3600) / √(16·332800 − 1920²) = 2880/1280
        #expect(abs(f - 2.25) < 1e-9)
        let ii = IntegralImage(img)
        // Feature below the node threshold → left leaf (−1) → rejected by a stage threshold of 0.
        let high = try CascadeClassifier(xml: edgeCascadeXML(threshold: f + 0.01, stageThreshold: 0), source: "test")
        #expect(high.evaluateWindow(ii, x: 0, y: 0) == nil)
        // Feature above it → right leaf (+1) → accepted, score = the leaf.
        let low = try CascadeClassifier(xml: edgeCascadeXML(threshold: f - 0.01, stageThreshold: 0), source: "test")
        #expect(low.evaluateWindow(ii, x: 0, y: 0) == 1)
        #expect(low.stageCount == 1 && low.treeCount == 1 && low.haarFeatures[0].count == 2)
        // The mirrored edge gives a negative feature: rejected.
        #expect(low.evaluateWindow(IntegralImage(img.mirrored()), x: 0, y: 0) == nil)
        // A flat window has no variance: rejected before any stage.
        #expect(low.evaluateWindow(IntegralImage(GrayImage(width: 6, height: 6, fill: 90)), x: 0, y: 0) == nil)
    }

    @Test func scanFindsTheEdgeWherePresent() throws {
        // A 20×12 image: the edge lies at x = 10; only windows straddling it centrally fire.
        var px = [Float](repeating: 0, count: 20 * 12)
        for y in 0..<12 { for x in 0..<20 { px[y * 20 + x] = x < 10 ? 40 : 200 } }
        px[5 * 20 + 2] = 41
        let ii = IntegralImage(GrayImage(width: 20, height: 12, pixels: px))
        // Feature 2.25 at x = 7, ≈ 1.73 one column either side, less further away.
        let c = try CascadeClassifier(xml: edgeCascadeXML(threshold: 2.0, stageThreshold: 0), source: "test")
        let hits = c.scan(ii, step: 1)
        #expect(!hits.isEmpty)
        #expect(hits.allSatisfy { $0.x == 7 })   // window [7, 13): left 3 columns dark, right 3 bright
    }

    @Test func lbpCodeComparesCellsClockwise() throws {
        // 3×3 cells of 1 pixel; centre 100; cells ≥ centre: top-left (bit 7), right (bit 4), bottom-left (bit 1).
        let cells: [Float] = [150, 10, 10,
                              10, 100, 120,
                              100, 10, 10]
        let ii = IntegralImage(GrayImage(width: 3, height: 3, pixels: cells))
        var corners: [Int] = []
        for gy in 0..<4 { for gx in 0..<4 { corners.append(gy * ii.stride + gx) } }
        let code = ii.sum.withUnsafeBufferPointer { s in
            corners.withUnsafeBufferPointer { c in CascadeClassifier.lbpCode(sum: s, origin: 0, corners: c, base: 0) }
        }
        #expect(code == 128 | 16 | 2)
    }

    @Test func malformedCascadesAreRejectedWithTheFileName() {
        #expect(throws: CascadeError.self) { try CascadeClassifier(xml: Array("<opencv_storage></opencv_storage>".utf8), source: "bad.xml") }
        #expect(throws: (any Error).self) { try CascadeClassifier(xml: Array("<opencv_storage><cascade>".utf8), source: "bad.xml") }
        let broken = String(decoding: edgeCascadeXML(threshold: 1, stageThreshold: 0), as: UTF8.self).replacingOccurrences(of: "0 -1 0 1.0", with: "0 -1 7 1.0")
        #expect(throws: CascadeError.self) { try CascadeClassifier(xml: Array(broken.utf8), source: "bad.xml") }
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: FaceModelPaths.frontal)))
    func opencvDataCascadesLoad() throws {
        let alt2 = try CascadeClassifier(contentsOfFile: FaceModelPaths.frontal)
        #expect(alt2.featureType == .haar && alt2.windowWidth == 20 && alt2.stageCount == 20)
        let lbp = try CascadeClassifier(contentsOfFile: FaceModelPaths.frontalLBP)
        #expect(lbp.featureType == .lbp && lbp.windowWidth == 45 && lbp.stageCount == 19)
        let profile = try CascadeClassifier(contentsOfFile: FaceModelPaths.profile)
        #expect(profile.stageCount == 26)
        // Noise is not a face.
        let det = FaceDetector(frontal: alt2, profile: profile)
        #expect(det.detect(randomGray(320, 240, seed: 3), threads: 2).isEmpty)
    }

    @Test func groupingKeepsSupportedClusters() {
        var raw: [FaceBox] = []
        for d in 0..<5 { raw.append(FaceBox(x: 100 + Double(d), y: 50 + Double(d % 2), width: 40, height: 40)) }
        raw.append(FaceBox(x: 300, y: 300, width: 40, height: 40))   // isolated: dropped
        let g = BoxGrouping.group(raw, minNeighbors: 3)
        #expect(g.count == 1)
        #expect(g[0].score == 5 && g[0].x == 102 && g[0].width == 40)
        #expect(BoxGrouping.group(raw, minNeighbors: 5).isEmpty)
        #expect(abs(FaceBox(x: 0, y: 0, width: 10, height: 10).iou(FaceBox(x: 5, y: 0, width: 10, height: 10)) - 1.0 / 3) < 1e-12)
    }
}

@Suite struct AlignmentTests {
    @Test func similarityEstimateRecoversAKnownTransform() throws {
        let truth = SimilarityTransform(a: 1.7 * cos(0.3), b: 1.7 * sin(0.3), tx: 12.5, ty: -4)
        let src: [(x: Double, y: Double)] = [(10, 20), (40, 22), (25, 40), (12, 60), (38, 61)]
        let dst = src.map { truth.apply($0.x, $0.y) }
        let t = try #require(SimilarityTransform.estimate(from: src, to: dst))
        #expect(abs(t.a - truth.a) < 1e-9 && abs(t.b - truth.b) < 1e-9 && abs(t.tx - truth.tx) < 1e-9 && abs(t.ty - truth.ty) < 1e-9)
        #expect(abs(t.scale - 1.7) < 1e-9 && abs(t.rotation - 0.3) < 1e-9)
        let back = t.inverse.apply(dst[2].x, dst[2].y)
        #expect(abs(back.x - 25) < 1e-9 && abs(back.y - 40) < 1e-9)
        // Least squares with noise: the centroid maps to the centroid.
        let noisy = dst.enumerated().map { (x: $0.element.x + ($0.offset % 2 == 0 ? 0.5 : -0.5), y: $0.element.y) }
        let n = try #require(SimilarityTransform.estimate(from: src, to: noisy))
        let c = n.apply(25, 40.6)
        #expect(abs(c.x - noisy.map(\.x).reduce(0, +) / 5) < 1e-9)
        #expect(SimilarityTransform.estimate(from: [(1, 1), (1, 1)], to: [(0, 0), (2, 2)]) == nil)
    }

    @Test func warpIdentityTranslationAndBorder() {
        // A horizontal ramp 0, 10, 20, … (same in every channel and row).
        let w = 20, h = 16
        var px = [UInt8](repeating: 0, count: w * h * 3)
        for y in 0..<h { for x in 0..<w { for c in 0..<3 { px[(y * w + x) * 3 + c] = UInt8(x * 10) } } }
        // Identity: exact copy of the top-left 12×12.
        let same = AffineWarp.warpRGB(px, width: w, height: h, toSource: .identity, size: 12)
        for y in 0..<12 { for x in 0..<12 { #expect(same[(y * 12 + x) * 3] == UInt8(x * 10)) } }
        // Half-pixel shift inside the frame: a cubic on a linear ramp is exact → midpoints.
        let shifted = AffineWarp.warpRGB(px, width: w, height: h, toSource: SimilarityTransform(a: 1, b: 0, tx: 4.5, ty: 2), size: 8)
        for x in 0..<8 { #expect(shifted[(3 * 8 + x) * 3 + 1] == UInt8(45 + 10 * x)) }
        // Far outside: black.
        let outside = AffineWarp.warpRGB(px, width: w, height: h, toSource: SimilarityTransform(a: 1, b: 0, tx: 100, ty: 100), size: 8)
        #expect(outside.allSatisfy { $0 == 0 })
        // Scaling by 2 about the origin samples every other column.
        let half = AffineWarp.warpRGB(px, width: w, height: h, toSource: SimilarityTransform(a: 2, b: 0, tx: 0, ty: 0), size: 6)
        for x in 0..<6 { #expect(half[(2 * 6 + x) * 3 + 2] == UInt8(20 * x)) }
    }

    @Test func templateAndFivePoints() {
        let t = AlignmentTemplate.fivePoint112()
        #expect(t.size == 112 && abs(t.points[0].x - 38.2946) < 1e-9)
        let wide = AlignmentTemplate.fivePoint112(zoom: 0.5)
        #expect(abs(wide.points[0].x - (56 + (38.2946 - 56) * 0.5)) < 1e-9)
        var lm = [(x: Float, y: Float)](repeating: (0, 0), count: 68)
        for i in 36...41 { lm[i] = (10 + Float(i - 36), 20) }
        for i in 42...47 { lm[i] = (50, 22) }
        lm[30] = (30, 40); lm[48] = (15, 60); lm[54] = (45, 61)
        let p = fivePoints(fromIBUG68: lm)
        #expect(p[0].x == 12.5 && p[0].y == 20 && p[1].x == 50 && p[2].y == 40 && p[3].x == 15 && p[4].y == 61)
    }
}

/// dlib's serialization written here: ints as control byte + little-endian magnitude; floats as (mantissa, exponent).
struct DlibWriter {
    var bytes: [UInt8] = []
    mutating func int(_ v: Int64) {
        var m = v.magnitude
        var body: [UInt8] = []
        repeat { body.append(UInt8(m & 0xFF)); m >>= 8 } while m != 0
        bytes.append(UInt8(body.count) | (v < 0 ? 0x80 : 0))
        bytes += body
    }
    mutating func float(_ f: Float) {
        // Exact for the dyadic values used here: f = mantissa · 2^exponent with exponent −20.
        int(Int64((Double(f) * 1_048_576).rounded())); int(-20)
    }
    mutating func column(_ v: [Float]) { int(-Int64(v.count)); int(-1); for x in v { float(x) } }
}

@Suite struct ShapePredictorTests {
    /// Two landmarks, one level, one depth-1 tree: if pixel(anchor 0 + delta) − pixel(anchor 1 + delta) > 10,
    /// landmarks move by leaf 0, else by leaf 1.
    func tinyModel() -> [UInt8] {
        var w = DlibWriter()
        w.int(1)                                   // version
        w.column([0.25, 0.5, 0.75, 0.5])          // initial shape: (0.25, 0.5), (0.75, 0.5)
        w.int(1); w.int(1)                         // 1 level, 1 tree
        w.int(1); w.int(0); w.int(1); w.float(10)  // 1 split: idx1 0, idx2 1, threshold 10
        w.int(2)                                   // 2 leaves
        w.column([0.0625, 0, 0, 0])                // leaf 0: first landmark right by 1/16
        w.column([0, 0, 0, -0.125])                // leaf 1: second landmark up by 1/8
        w.int(1); w.int(2); w.int(0); w.int(1)     // anchors [[0, 1]]
        w.int(1); w.int(2); w.float(0); w.float(0); w.float(0); w.float(0)  // deltas [[(0,0), (0,0)]]
        return w.bytes
    }

    @Test func readsAndEvaluatesDlibSerialization() throws {
        let model = try ShapePredictor(serialized: tinyModel(), source: "tiny.dat")
        #expect(model.landmarkCount == 2 && model.cascadeDepth == 1)
        // Box (0,0)–(16,16) in dlib terms: width 17. Landmark 0 samples (4, 8), landmark 1 samples (12, 8).
        var img = GrayImage(width: 17, height: 17, fill: 50)
        img.pixels[8 * 17 + 4] = 100
        let box = FaceBox(x: 0, y: 0, width: 17, height: 17)
        let bright = model.predict(img, box: box)             // 100 − 50 > 10 → leaf 0
        #expect(bright[0].x == 5 && bright[0].y == 8 && bright[1].x == 12 && bright[1].y == 8)
        let dark = model.predict(GrayImage(width: 17, height: 17, fill: 50), box: box)   // 0 ≤ 10 → leaf 1
        #expect(dark[0].x == 4 && dark[1].y == 6)
        // Truncation and trailing bytes are errors that name the file.
        #expect(throws: ShapePredictorError.self) { try ShapePredictor(serialized: Array(tinyModel().dropLast(3)), source: "tiny.dat") }
        #expect(throws: ShapePredictorError.self) { try ShapePredictor(serialized: tinyModel() + [0], source: "tiny.dat") }
    }

    @Test func dlibIntegerAndFloatEncoding() throws {
        var w = DlibWriter()
        for v: Int64 in [0, 1, -1, 255, 256, -70000, Int64(Int32.max)] { w.int(v) }
        w.float(-0.375)
        var r = DlibReader(bytes: w.bytes, source: "t")
        for v: Int64 in [0, 1, -1, 255, 256, -70000, Int64(Int32.max)] { #expect(try r.int() == v) }
        #expect(try r.float() == -0.375)
        #expect(r.atEnd)
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: FaceModelPaths.landmarks)))
    func debianLandmarkModelLoads() throws {
        let m = try ShapePredictor(contentsOfFile: FaceModelPaths.landmarks)
        #expect(m.landmarkCount == 68 && m.cascadeDepth == 15)
        // The mean shape lies inside the unit box, eyes above the mouth.
        #expect(m.initialShape.allSatisfy { $0 > -0.2 && $0 < 1.2 })
        #expect(m.initialShape[2 * 36 + 1] < m.initialShape[2 * 48 + 1])
    }
}

@Suite(.serialized) struct DegenerateFrameTests {
    static var modelsPresent: Bool {
        FileManager.default.fileExists(atPath: FaceModelPaths.landmarks) && FileManager.default.fileExists(atPath: FaceModelPaths.frontal)
    }

    @Test(.enabled(if: modelsPresent)) func tinyBlackAndHugeFramesGiveBlackCrops() throws {
        let tracker = try FaceTracker()
        var r = TestRandom(state: 5)
        let sizes = [(1, 1), (2, 2), (7, 5), (19, 19), (64, 48), (3840, 2160)]
        for (i, (w, h)) in sizes.enumerated() {
            let black = RGBImage(black: w, h)
            let res = tracker.process(rgb: black.pixels, width: w, height: h, time: Double(2 * i) / 25, threads: 2)
            #expect(!res.found && res.crop.width == 112 && res.crop.height == 112 && res.crop.pixels.allSatisfy { $0 == 0 })
            let noise = RGBImage(width: w, height: h, pixels: (0..<(w * h * 3)).map { _ in r.byte() })
            let res2 = tracker.process(rgb: noise.pixels, width: w, height: h, time: Double(2 * i + 1) / 25, threads: 2)
            #expect(res2.crop.width == 112 && res2.crop.pixels.count == 112 * 112 * 3)
        }
    }
}
