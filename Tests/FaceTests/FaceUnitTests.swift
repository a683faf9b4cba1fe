// Unit tests of the Face module's parts on data made here: MTCNN's box arithmetic (pyramid, squaring, regression,
// the two NMS), its weight files (errors name the file and `make`), the similarity transform and the warp, and
// degenerate frames.
import Foundation
import Kernels
import Media
import Testing
import TestSupport
@testable import Face

/// A small deterministic generator (xorshift) for test images.
struct TestRandom {
    var state: UInt64
    mutating func next() -> UInt64 { state ^= state << 13; state ^= state >> 7; state ^= state << 17; return state }
    mutating func byte() -> UInt8 { UInt8(truncatingIfNeeded: next() >> 24) }
    mutating func int(_ n: Int) -> Int { Int(next() % UInt64(n)) }
}

@Suite struct MTCNNArithmeticTests {
    /// facenet-pytorch's pyramid for a 640×360 frame with min_face_size 20 (printed by its detect_face loop).
    @Test func pyramidScales() {
        let s = MTCNN.scales(width: 640, height: 360, options: MTCNN.Options())
        #expect(s.count == 9)
        #expect(s[0] == 0.6 && abs(s[1] - 0.6 * 0.709) < 1e-15 && abs(s[8] - 0.6 * pow(0.709, 8)) < 1e-15)
        // 360 · 0.6 · 0.709⁸ = 13.5 ≥ 12; one more step would be 9.6.
        var o = MTCNN.Options()
        o.minFaceSize = 60
        #expect(MTCNN.scales(width: 1920, height: 1080, options: o).count == 9)
        #expect(MTCNN.scales(width: 11, height: 200, options: MTCNN.Options()).isEmpty)
    }

    @Test func squaringAndRegression() {
        var c = Candidate(x1: 10, y1: 20, x2: 30, y2: 60, score: 1)
        c.square()   // w 20, h 40 → side 40 about the same centre
        #expect(c.x1 == 0 && c.y1 == 20 && c.x2 == 40 && c.y2 == 60)
        c.regression = SIMD4(0.1, -0.1, 0, 0.05)
        c.applyRegression()   // sizes with +1: 41 × 41
        #expect(c.x1 == 4.1 && c.y1 == Float(20) - Float(0.1) * 41 && c.x2 == 40 && c.y2 == Float(60) + Float(0.05) * 41)
    }

    /// torchvision's NMS (IoU > threshold suppresses; no +1) versus facenet-pytorch's "Min" NMS (intersection over the
    /// smaller area with +1 sizes; ≤ threshold survives).
    @Test func theTwoSuppressions() {
        let big = Candidate(x1: 0, y1: 0, x2: 100, y2: 100, score: 0.9)
        let inside = Candidate(x1: 10, y1: 10, x2: 50, y2: 50, score: 0.95)     // IoU 0.16, but fully inside
        let shifted = Candidate(x1: 5, y1: 0, x2: 105, y2: 100, score: 0.8)    // IoU ≈ 0.905
        let apart = Candidate(x1: 200, y1: 0, x2: 260, y2: 60, score: 0.5)
        let boxes = [big, inside, shifted, apart]
        #expect(NonMaximumSuppression.union(boxes, threshold: 0.5) == [1, 0, 3])
        #expect(NonMaximumSuppression.union(boxes, threshold: 0.95) == [1, 0, 2, 3])
        #expect(NonMaximumSuppression.minimum(boxes, threshold: 0.7) == [1, 3])
        // Equal scores: torchvision keeps the earlier index first; the numpy NMS takes the later one first.
        let twins = [Candidate(x1: 0, y1: 0, x2: 10, y2: 10, score: 1), Candidate(x1: 1, y1: 0, x2: 11, y2: 10, score: 1)]
        #expect(NonMaximumSuppression.union(twins, threshold: 0.5) == [0])
        #expect(NonMaximumSuppression.minimum(twins, threshold: 0.7) == [1])
    }

    /// `pad`: truncation toward zero, 1-based clipping, and the pixel rectangle [x − 1, ex) × [y − 1, ey).
    @Test func cropRegions() {
        let px = [UInt8](repeating: 0, count: 40 * 30 * 3)
        px.withUnsafeBufferPointer { p in
            let src = RGBSource(pixels: p.baseAddress!, width: 40, height: 30)
            let r = src.cropRegion(Candidate(x1: -3.7, y1: 2.9, x2: 45.2, y2: 20.5, score: 0))
            #expect(r?.x0 == 0 && r?.y0 == 1 && r?.x1 == 40 && r?.y1 == 20)
            #expect(src.cropRegion(Candidate(x1: 50, y1: 5, x2: 70, y2: 25, score: 0)) == nil)
            #expect(src.cropRegion(Candidate(x1: -30, y1: 5, x2: -0.5, y2: 25, score: 0)) == nil)
        }
    }
}

@Suite struct FaceModelFileTests {
    @Test func missingFilesNameTheFileAndMake() {
        let dir = TestPaths.temporaryDirectory("face-models-missing")
        defer { try? FileManager.default.removeItem(at: dir) }
        do {
            _ = try FaceModels(directory: dir.path)
            Issue.record("loading from an empty folder must fail")
        } catch {
            let text = "\(error)"
            #expect(text.contains(dir.path + "/pnet.safetensors") && text.contains("`make`") && !text.contains("\n"))
        }
    }

    @Test func environmentVariableOverridesTheFolder() {
        #expect(FaceModelPaths.directory(environment: ["EMOPIPE_FACE_MODELS": "/x/y", "HOME": "/h"]) == "/x/y")
        #expect(FaceModelPaths.directory(environment: ["HOME": "/h"]) == "/h/.local/share/emopipe/face")
    }

    @Test func wrongOrDamagedFilesAreRefusedWithTheirName() throws {
        let dir = TestPaths.temporaryDirectory("face-models-bad")
        defer { try? FileManager.default.removeItem(at: dir) }
        // A P-Net file whose conv1 has the wrong shape.
        var w = SafeTensorsWriter()
        w.add("conv1.weight", Tensor(zeros: [10, 3, 5, 5]))
        let path = dir.appendingPathComponent("pnet.safetensors").path
        try w.write(to: path)
        #expect(throws: FaceModelError.self) { try PNet(path: path) }
        do { _ = try PNet(path: path) } catch {
            #expect("\(error)".contains(path) && "\(error)".contains("conv1.weight") && "\(error)".contains("make"))
        }
        // Not a safetensors file at all.
        try Data("not weights".utf8).write(to: URL(fileURLWithPath: path))
        do { _ = try PNet(path: path); Issue.record("garbage accepted") } catch {
            #expect("\(error)".contains(path) && "\(error)".contains("make"))
        }
        // R-Net weights given as O-Net: the first missing/mis-shaped tensor is named.
        if let models = FaceModelsForTests.shared {
            _ = models
            let rnet = FaceModelPaths.directory + "/rnet.safetensors"
            do { _ = try ONet(path: rnet); Issue.record("R-Net weights accepted as O-Net") } catch {
                #expect("\(error)".contains("O-Net"))
            }
        }
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

    @Test func bilinearWarpIdentityTranslationAndBorder() {
        // A horizontal ramp 0, 10, 20, … (same in every channel and row).
        let w = 20, h = 16
        var px = [UInt8](repeating: 0, count: w * h * 3)
        for y in 0..<h { for x in 0..<w { for c in 0..<3 { px[(y * w + x) * 3 + c] = UInt8(x * 10) } } }
        // Identity: exact copy of the top-left 12×12.
        let same = AffineWarp.warpRGB(px, width: w, height: h, toSource: .identity, size: 12)
        for y in 0..<12 { for x in 0..<12 { #expect(same[(y * 12 + x) * 3] == UInt8(x * 10)) } }
        // Half-pixel shift inside the frame: bilinear on a linear ramp is exact → midpoints.
        let shifted = AffineWarp.warpRGB(px, width: w, height: h, toSource: SimilarityTransform(a: 1, b: 0, tx: 4.5, ty: 2), size: 8)
        for x in 0..<8 { #expect(shifted[(3 * 8 + x) * 3 + 1] == UInt8(45 + 10 * x)) }
        // Half a pixel past the right edge: blended with the black border (cv2.BORDER_CONSTANT), 190 / 2.
        let edge = AffineWarp.warpRGB(px, width: w, height: h, toSource: SimilarityTransform(a: 1, b: 0, tx: 19.5, ty: 0), size: 2)
        #expect(edge[0] == 95 && edge[3] == 0)
        // Far outside: black.
        let outside = AffineWarp.warpRGB(px, width: w, height: h, toSource: SimilarityTransform(a: 1, b: 0, tx: 100, ty: 100), size: 8)
        #expect(outside.allSatisfy { $0 == 0 })
        // Scaling by 2 about the origin samples every other column.
        let half = AffineWarp.warpRGB(px, width: w, height: h, toSource: SimilarityTransform(a: 2, b: 0, tx: 0, ty: 0), size: 6)
        for x in 0..<6 { #expect(half[(2 * 6 + x) * 3 + 2] == UInt8(20 * x)) }
    }

    @Test func arcFaceTemplate() {
        let t = AlignmentTemplate.fivePoint112()
        #expect(t.size == 112 && t.points.count == 5 && abs(t.points[0].x - 38.2946) < 1e-9 && abs(t.points[4].y - 92.2041) < 1e-9)
        let wide = AlignmentTemplate.fivePoint112(zoom: 0.5)
        #expect(abs(wide.points[0].x - (56 + (38.2946 - 56) * 0.5)) < 1e-9)
    }
}

@Suite(.serialized) struct DegenerateFrameTests {
    @Test(.enabled(if: FaceModelsForTests.available)) func tinyBlackNoisyAndHugeFramesGiveBlackCropsOrFaces() throws {
        let tracker = FaceTracker(models: FaceModelsForTests.shared!)
        var r = TestRandom(state: 5)
        let sizes = [(1, 1), (2, 2), (7, 5), (19, 19), (64, 48), (640, 360), (3840, 2160)]
        for (i, (w, h)) in sizes.enumerated() {
            let res = tracker.process(RGBImage(black: w, h), time: Double(2 * i) / 25, threads: 2)
            #expect(!res.found && res.crop.width == 112 && res.crop.height == 112 && res.crop.pixels.allSatisfy { $0 == 0 })
            if w > 640 { continue }   // noise at 4K only costs time
            let noise = RGBImage(width: w, height: h, pixels: (0..<(w * h * 3)).map { _ in r.byte() })
            let res2 = tracker.process(noise, time: Double(2 * i + 1) / 25, threads: 2)
            #expect(res2.crop.width == 112 && res2.crop.pixels.count == 112 * 112 * 3)
        }
        #expect(FaceModelsForTests.shared!.detector.detect(RGBImage(black: 0, 0), threads: 1).isEmpty)
        // 8K (above the frames that get a summed-area table): each pyramid level is resampled from the frame.
        let huge = tracker.process(RGBImage(black: 7680, 4320), time: 1, threads: 2)
        #expect(!huge.found && huge.crop.pixels.allSatisfy { $0 == 0 })
    }
}
