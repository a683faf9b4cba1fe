// Detection rate, box IoU and false positives of the face front end on real photographs from Debian packages
// and degraded versions of them (tools/face-eval-data.sh makes the set; this test skips without it).
import Foundation
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
    var iouSum = 0.0, detectorIoUSum = 0.0
    var seconds = 0.0
    var misses: [String] = []
}

/// Runs detection + landmark box refinement on every picture with one detector configuration.
func evaluateFaces(detector: FaceDetector, predictor: ShapePredictor, directory: String,
                   references: [String: FaceEvalData.Reference]) throws -> EvalOutcome {
    var o = EvalOutcome()
    let files = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".ppm") }.sorted()
    for file in files {
        let stem = String(file.dropLast(4))
        let parts = stem.components(separatedBy: "__")
        guard parts.count == 2 else { continue }
        let img = try NetpbmImage(path: directory + "/" + file)
        let gray = GrayImage(rgb: img.rgb, width: img.width, height: img.height)
        let t0 = Date()
        let boxes = detector.detect(gray, threads: 2)
        let refined = boxes.map { predictor.predictRefined(gray, box: $0, refinements: 2).box }
        o.seconds += Date().timeIntervalSince(t0)
        if parts[0] == "noface" {
            o.emptyImages += 1
            o.falseOnEmpty += boxes.count
            continue
        }
        guard let ref = references[parts[0]] else { continue }
        let truth = FaceEvalData.referenceBox(ref, variant: parts[1], imageWidth: img.width, imageHeight: img.height)
        o.faces += 1
        let best = refined.indices.max { refined[$0].iou(truth) < refined[$1].iou(truth) }
        if let best, refined[best].iou(truth) >= 0.4 {
            o.hits += 1
            o.iouSum += refined[best].iou(truth)
            o.detectorIoUSum += boxes[best].iou(truth)
            o.extraOnFaces += boxes.count - 1
        } else {
            o.misses.append(stem)
            o.extraOnFaces += boxes.count
        }
    }
    return o
}

@Suite(.serialized) struct FaceEvaluationTests {
    /// The default configuration must find most faces and fire on none of the face-free scenes.
    @Test(.enabled(if: FaceEvalData.available && FileManager.default.fileExists(atPath: FaceModelPaths.landmarks)))
    func defaultConfigurationOnRealFaces() throws {
        let dir = FaceEvalData.directory!
        let refs = try FaceEvalData.references()
        let detector = try FaceDetector()
        let predictor = try ShapePredictor(contentsOfFile: FaceModelPaths.landmarks)
        let o = try evaluateFaces(detector: detector, predictor: predictor, directory: dir, references: refs)
        print("face-eval default: detected \(o.hits)/\(o.faces), mean IoU (landmark box) \(String(format: "%.3f", o.iouSum / Double(max(1, o.hits)))), false positives \(o.falseOnEmpty) on \(o.emptyImages) face-free images, misses \(o.misses)")
        #expect(o.faces == 39)
        #expect(Double(o.hits) >= 0.6 * Double(o.faces))
        #expect(o.iouSum / Double(max(1, o.hits)) >= 0.6)
        #expect(o.falseOnEmpty == 0)
    }

    /// Region and view searches find the face where it is and nothing elsewhere; the tracker's landmarks put the
    /// eyes of a real photo on the template and the crop is centred on the face.
    @Test(.enabled(if: FaceEvalData.available && FileManager.default.fileExists(atPath: FaceModelPaths.landmarks)))
    func regionViewAndCropOnARealPhoto() throws {
        let img = try NetpbmImage(path: FaceEvalData.directory! + "/astronaut__orig.ppm")
        let gray = GrayImage(rgb: img.rgb, width: img.width, height: img.height)
        let truth = try #require(FaceEvalData.references()["astronaut"]).box
        let detector = try FaceDetector()
        let inside = detector.detect(gray, region: FaceBox(x: 120, y: 20, width: 220, height: 220), threads: 2)
        #expect(inside.count == 1 && inside[0].iou(truth) > 0.4)
        #expect(detector.detect(gray, region: FaceBox(x: 0, y: 300, width: 200, height: 200), threads: 2).isEmpty)
        // The photo turned by 30°: a view turned the same way around the face (face ≈ 40 view pixels) levels it and
        // finds it, mapped back onto the face; the view turned the other way (a 60° tilt) does not.
        let rimg = try NetpbmImage(path: FaceEvalData.directory! + "/astronaut__rot30.ppm")
        let rgray = GrayImage(rgb: rimg.rgb, width: rimg.width, height: rimg.height)
        let rtruth = FaceEvalData.referenceBox(try #require(FaceEvalData.references()["astronaut"]), variant: "rot30",
                                               imageWidth: rimg.width, imageHeight: rimg.height)
        func view(_ degrees: Double) -> [FaceBox] {
            let t = degrees * Double.pi / 180, k = 100.0 / 40
            let a = k * cos(t), b = k * sin(t)
            let v = SimilarityTransform(a: a, b: b, tx: rtruth.centerX - (a * 40 - b * 40), ty: rtruth.centerY - (b * 40 + a * 40))
            return detector.detect(rgray, view: v, width: 80, height: 80, threads: 2)
        }
        func onFace(_ b: FaceBox) -> Bool { hypot(b.centerX - rtruth.centerX, b.centerY - rtruth.centerY) < 0.25 * rtruth.width }
        #expect(view(30).contains(where: onFace))
        #expect(!view(-30).contains(where: onFace))

        let tracker = try FaceTracker()
        let r = tracker.process(rgb: img.rgb, width: img.width, height: img.height, time: 0, threads: 2)
        #expect(r.found && r.box.iou(truth) > 0.5)
        // The crop centre (just below the template's eye row) maps between the brows and the box centre, centred
        // horizontally; the eyes map onto the template's eyes.
        let c = r.cropToSource.apply(56, 56)
        #expect(abs(c.x - truth.centerX) < 0.15 * truth.width)
        #expect(c.y > truth.y && c.y < truth.centerY)
        let eyes = fivePoints(fromIBUG68: r.landmarks)
        let toCrop = r.cropToSource.inverse
        let le = toCrop.apply(eyes[0].x, eyes[0].y), re = toCrop.apply(eyes[1].x, eyes[1].y)
        #expect(abs(le.y - 51.6) < 3 && abs(re.y - 51.6) < 3 && abs(le.x - 38.3) < 3 && abs(re.x - 73.5) < 3)
    }

    /// The comparison table of docs/face.md (run with EMOPIPE_FACE_COMPARE=1; slow).
    @Test(.enabled(if: FaceEvalData.available && ProcessInfo.processInfo.environment["EMOPIPE_FACE_COMPARE"] != nil))
    func compareDetectors() throws {
        let dir = FaceEvalData.directory!
        let refs = try FaceEvalData.references()
        let predictor = try ShapePredictor(contentsOfFile: FaceModelPaths.landmarks)
        let profile = try CascadeClassifier(contentsOfFile: FaceModelPaths.profile)
        let alt = FaceModelPaths.cascadeDirectory + "/haarcascades/haarcascade_frontalface_alt.xml"
        let candidates: [(String, String, Bool, Bool)] = [
            ("haar alt2", FaceModelPaths.frontal, false, false),
            ("haar alt2", FaceModelPaths.frontal, true, false),
            ("haar alt2 (default)", FaceModelPaths.frontal, false, true),
            ("haar alt2", FaceModelPaths.frontal, true, true),
            ("haar alt", alt, false, false),
            ("haar alt", alt, true, true),
            ("haar default", FaceModelPaths.frontalDefault, false, false),
            ("haar default", FaceModelPaths.frontalDefault, true, true),
            ("lbp improved", FaceModelPaths.frontalLBP, false, false),
            ("lbp improved", FaceModelPaths.frontalLBP, true, true),
        ]
        print("| frontal cascade | full-frame profile fallback | ±30° roll views | detected | mean IoU (landmark box) | mean IoU (detector box) | extra boxes on faces | false positives (15 face-free) | time/image |")
        print("|---|---|---|---|---|---|---|---|---|")
        for (name, path, useProfile, roll) in candidates {
            var config = FaceDetectorConfig()
            config.useProfile = useProfile
            config.profileOnFullFrame = useProfile
            config.rollAngles = roll ? [-30, 30] : []
            let det = FaceDetector(frontal: try CascadeClassifier(contentsOfFile: path), profile: useProfile ? profile : nil, config: config)
            let o = try evaluateFaces(detector: det, predictor: predictor, directory: dir, references: refs)
            let n = Double(max(1, o.hits))
            print("| \(name) | \(useProfile ? "yes" : "no") | \(roll ? "yes" : "no") | \(o.hits)/\(o.faces) | \(String(format: "%.3f", o.iouSum / n)) | \(String(format: "%.3f", o.detectorIoUSum / n)) | \(o.extraOnFaces) | \(o.falseOnEmpty) | \(String(format: "%.0f ms", 1000 * o.seconds / Double(o.faces + o.emptyImages))) |")
            print("  misses: \(o.misses.joined(separator: " "))")
        }
    }
}
