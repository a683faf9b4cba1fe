// Detection rate and false positives of the face detector on real photographs from Debian packages and degraded
// versions of them (tools/face-eval-data.sh makes the set; these tests skip without it), and the crop of a still face
// against a reference crop made from facenet-pytorch's landmarks with the ArcFace template (tools/mtcnn_reference.py).
import Foundation
import Media
import Testing
import TestSupport
@testable import Face

enum FaceEvalData {
    static var directory: String? {
        let dir = ProcessInfo.processInfo.environment["EMOPIPE_FACE_EVAL"]
            ?? TestPaths.packageRoot.appendingPathComponent(".build/face-eval").path
        return FileManager.default.fileExists(atPath: dir + "/astronaut__orig.ppm") ? dir : nil
    }
    static var available: Bool { directory != nil }

    struct Reference { let photo: String; let width: Double; let height: Double; let box: FaceBox }

    static func references() throws -> [String: Reference] {
        let path = TestPaths.fixture("face_reference_boxes.csv")
        var out: [String: Reference] = [:]
        for line in try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n") where !line.hasPrefix("#") {
            let f = line.split(separator: ",", maxSplits: 7).map(String.init)
            guard f.count >= 7, let w = Double(f[1]), let h = Double(f[2]), let x = Double(f[3]), let y = Double(f[4]),
                  let bw = Double(f[5]), let bh = Double(f[6]) else { continue }
            out[f[0]] = Reference(photo: f[0], width: w, height: h, box: FaceBox(x: x, y: y, width: bw, height: bh))
        }
        return out
    }

    /// The reference box of a variant, from the photo's box and how the variant was made.
    static func referenceBox(_ ref: Reference, variant: String, imageWidth: Int, imageHeight: Int) -> FaceBox {
        let b = ref.box
        switch variant {
        case "mirror":
            return FaceBox(x: ref.width - b.x - b.width, y: b.y, width: b.width, height: b.height)
        case "half", "quarter":
            return b.scaled(by: Double(imageWidth) / ref.width)
        case let v where v.hasPrefix("rot"):
            // ffmpeg's rotate turns clockwise by the angle about the image centre, keeping the size:
            // the box keeps its size and its centre moves with the picture.
            let degrees = Double(v.dropFirst(3))!
            let t = degrees * Double.pi / 180
            let cx = ref.width / 2, cy = ref.height / 2
            let dx = b.centerX - cx, dy = b.centerY - cy
            let nx = cx + dx * cos(t) - dy * sin(t), ny = cy + dx * sin(t) + dy * cos(t)
            return FaceBox(x: nx - b.width / 2, y: ny - b.height / 2, width: b.width, height: b.height)
        default:
            return b
        }
    }
}

struct EvalOutcome {
    var faces = 0, hits = 0, extraOnFaces = 0, falseOnEmpty = 0, emptyImages = 0
    var iouSum = 0.0
    var seconds = 0.0
    var misses: [String] = []
    var falsePositives: [String] = []
    /// Pictures with a detection strong enough to start a track (`FaceTrackerConfig.startThreshold`).
    var wouldStartTrack: [String] = []
}

/// Every picture through `MTCNN.detect` with `options`: a face picture counts as found when a detection has IoU ≥ 0.4
/// with the hand-made reference box; on the face-free scenes, detections with probability ≥ 0.9 are false positives.
func evaluateFaces(_ detector: MTCNN, options: MTCNN.Options = MTCNN.Options(), directory: String,
                   references: [String: FaceEvalData.Reference]) throws -> EvalOutcome {
    var o = EvalOutcome()
    let files = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".ppm") }.sorted()
    for file in files {
        let stem = String(file.dropLast(4))
        let parts = stem.components(separatedBy: "__")
        guard parts.count == 2 else { continue }
        let img = try NetpbmImage(path: directory + "/" + file)
        let t0 = Date()
        let found = detector.detect(RGBImage(width: img.width, height: img.height, pixels: img.rgb), options: options, threads: 2)
        o.seconds += Date().timeIntervalSince(t0)
        let boxes = found.map(\.box)
        if found.contains(where: { $0.score >= FaceTrackerConfig().startThreshold }) { o.wouldStartTrack.append(stem) }
        if parts[0] == "noface" {
            o.emptyImages += 1
            let strong = found.filter { $0.score >= 0.9 }
            o.falseOnEmpty += strong.count
            o.falsePositives += strong.map { "\(stem) \($0.box)" }
            continue
        }
        guard let ref = references[parts[0]] else { continue }
        let truth = FaceEvalData.referenceBox(ref, variant: parts[1], imageWidth: img.width, imageHeight: img.height)
        o.faces += 1
        let best = boxes.indices.max { boxes[$0].iou(truth) < boxes[$1].iou(truth) }
        if let best, boxes[best].iou(truth) >= 0.4 {
            o.hits += 1
            o.iouSum += boxes[best].iou(truth)
            o.extraOnFaces += boxes.count - 1
        } else {
            o.misses.append(stem)
            o.extraOnFaces += boxes.count
        }
    }
    return o
}

@Suite(.serialized) struct FaceEvaluationTests {
    /// MTCNN with facenet-pytorch's defaults finds every face and at most one false positive (as facenet-pytorch:
    /// 39/39, one box with probability 0.929 on the motorcycle picture).
    @Test(.enabled(if: FaceEvalData.available && FaceModelsForTests.available))
    func recallAndFalsePositives() throws {
        let o = try evaluateFaces(FaceModelsForTests.shared!.detector, directory: FaceEvalData.directory!, references: try FaceEvalData.references())
        print("face-eval MTCNN: found \(o.hits)/\(o.faces), mean IoU with the hand boxes \(String(format: "%.3f", o.iouSum / Double(max(1, o.hits)))), \(o.extraOnFaces) extra boxes on face pictures, \(o.falseOnEmpty) false positives (p ≥ 0.9) on \(o.emptyImages) face-free pictures \(o.falsePositives), misses \(o.misses), \(String(format: "%.0f", 1000 * o.seconds / Double(o.faces + o.emptyImages))) ms/picture")
        #expect(o.faces == 39 && o.emptyImages == 15)
        #expect(o.hits >= 37, "misses: \(o.misses)")
        #expect(o.falseOnEmpty <= 1, "\(o.falsePositives)")
        // The tracker starts a track on every face picture and on no face-free one.
        let starts = o.wouldStartTrack
        #expect(starts.filter { !$0.hasPrefix("noface") }.count == 39 && !starts.contains { $0.hasPrefix("noface") }, "\(starts)")
    }

    /// The crop of a still face (one picture through the tracker) against the crop made from facenet-pytorch's
    /// landmarks with the ArcFace template by insightface's recipe (cv2.warpAffine, bilinear): the same pixels but for
    /// interpolation rounding (OpenCV's fixed-point weights).
    @Test(.enabled(if: FaceEvalData.available && FaceModelsForTests.available), arguments: ["astronaut", "grace_hopper"])
    func stillFaceCropMatchesTheReferenceCrop(_ photo: String) throws {
        let img = try NetpbmImage(path: FaceEvalData.directory! + "/\(photo)__orig.ppm")
        // The reference's detection settings (min face 20 px; the tracker would search from 28 px on a 512-line picture).
        var config = FaceTrackerConfig()
        config.minFaceSize = 20
        let tracker = FaceTracker(models: FaceModelsForTests.shared!, config: config)
        let r = tracker.process(RGBImage(width: img.width, height: img.height, pixels: img.rgb), time: 0, threads: 2)
        try #require(r.found)
        let reference = try decodeImage(path: TestPaths.fixture("faces/reference_crop_\(photo).png"))
        #expect(reference.width == 112 && reference.height == 112)
        var sum = 0, worst = 0
        for i in 0..<reference.pixels.count {
            let d = abs(Int(reference.pixels[i]) - Int(r.crop.pixels[i]))
            sum += d; worst = max(worst, d)
        }
        let mad = Double(sum) / Double(reference.pixels.count)
        print("still-face crop vs reference crop (\(photo)): mean absolute difference \(String(format: "%.3f", mad)) gray levels, max \(worst)")
        #expect(mad < 1.0)
    }
}
