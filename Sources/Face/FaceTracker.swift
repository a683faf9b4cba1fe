// Following faces through a video: periodic full-frame detection, cheap re-detection around each track in
// between, landmarks, the choice of the subject, temporally smoothed alignment and the 112×112 crop.
import Foundation
import Media

/// Which face of the video the crops follow.
public enum SubjectSelection: Sendable, Equatable, CustomStringConvertible {
    /// The largest, most persistent face (kept while it is visible).
    case primary
    /// A track by its 1-based id (ids are given in order of first appearance).
    case track(Int)
    /// The leftmost / rightmost face (Aff-Wild2's `_left` / `_right` videos).
    case left
    case right

    public init?(argument: String) {
        switch argument.lowercased() {
        case "primary", "auto": self = .primary
        case "left": self = .left
        case "right": self = .right
        default:
            guard let n = Int(argument), n >= 1 else { return nil }
            self = .track(n)
        }
    }

    public var description: String {
        switch self {
        case .primary: "primary"
        case .track(let n): "track \(n)"
        case .left: "left"
        case .right: "right"
        }
    }
}

public struct FaceTrackerConfig: Sendable {
    public var detector = FaceDetectorConfig()
    /// Full-frame detection every this many frames (tracks are re-detected locally in between).
    public var detectionInterval: Int = 8
    /// Frames a track survives without any detection before it is dropped.
    public var maxMissedFrames: Int = 12
    /// Frames in a row the subject's crop may come from its landmarks alone (no detection) before the frame
    /// counts as "no face": bridges short detector drop-outs, at the risk of that many background crops after a cut.
    public var maxBridgedFrames: Int = 2
    /// A new face appearing within this many frames of a lost track, at its place and size, gets its id back.
    public var reidentifyFrames: Int = 75
    public var subject: SubjectSelection = .primary
    /// Crop template; `zoom` < 1 leaves more margin (see docs/face.md on the Aff-Wild2 scale).
    public var template = AlignmentTemplate.fivePoint112()
    /// Temporal smoothing of the alignment points (One-Euro filter); false = raw per-frame alignment.
    public var smoothing: Bool = true
    /// Tuned on a still face under noise vs a moving, tilting face (FaceTests `tuneSmoothing`, docs/face.md).
    public var smoothingMinCutoff: Double = 1.0   // Hz
    public var smoothingBeta: Double = 10.0       // per (inter-ocular distances per second)
    public init() {}
}

/// What the tracker knows about the subject in one frame.
public struct FaceResult: Sendable {
    /// 112×112 RGB crop (black when no face).
    public var crop: RGBImage
    public var found: Bool
    /// Face box in source-frame pixels (the landmark model's box), zero when not found.
    public var box: FaceBox
    /// Detection support (grouped window count of the latest detection of this track), 0 when not found.
    public var score: Double
    /// 68 iBUG landmarks in source-frame pixels (empty when not found).
    public var landmarks: [(x: Float, y: Float)]
    /// Crop pixel → source-frame pixel (identity when not found).
    public var cropToSource: SimilarityTransform
    /// The subject's track id (0 when none).
    public var trackID: Int
    /// True when this frame's box came from a detection (full or local) rather than from the landmarks alone.
    public var detected: Bool
}

struct Track {
    let id: Int
    var box: FaceBox
    var landmarks: [(x: Float, y: Float)] = []
    var hits: Int = 1
    var missed: Int = 0
    var lastScore: Double
    var firstFrame: Int
}

/// Streaming face tracker: call `process` once per decoded frame, in order. Memory is constant per frame.
public final class FaceTracker {
    public let config: FaceTrackerConfig
    let detector: FaceDetector
    let predictor: ShapePredictor
    var tracks: [Track] = []
    var nextID = 1
    var subjectID: Int?
    var frameCount = 0
    var fallbackCycle = 0
    var filter = OneEuroPoints()
    var lastTime: Double?
    var history: [Int: (first: Int, last: Int, hits: Int, widthSum: Double)] = [:]
    /// Tracks dropped in the last `reidentifyFrames` frames, with the frame they were dropped at.
    var recentlyLost: [(track: Track, frame: Int)] = []

    public init(config: FaceTrackerConfig = FaceTrackerConfig(), detector: FaceDetector, predictor: ShapePredictor) {
        self.config = config
        self.detector = detector
        self.predictor = predictor
    }

    /// Loads the cascades (opencv-data) and the landmark model (libdlib-data) from their Debian paths.
    public convenience init(config: FaceTrackerConfig = FaceTrackerConfig()) throws {
        let d = try FaceDetector(config: config.detector)
        let p = try ShapePredictor(contentsOfFile: FaceModelPaths.landmarks)
        guard p.landmarkCount == 68 else {
            throw ShapePredictorError("\(FaceModelPaths.landmarks): \(p.landmarkCount) landmarks, the aligner needs the 68-point iBUG model")
        }
        self.init(config: config, detector: d, predictor: p)
    }

    /// Every track seen so far: frames of first and last detection (0-based), detections, mean detector box width.
    public var seenTracks: [(id: Int, first: Int, last: Int, hits: Int, meanWidth: Double)] {
        history.sorted { $0.key < $1.key }.map { ($0.key, $0.value.first, $0.value.last, $0.value.hits, $0.value.widthSum / Double(max(1, $0.value.hits))) }
    }

    /// Tracks currently alive: (id, box, frames seen).
    public var activeTracks: [(id: Int, box: FaceBox, hits: Int)] { tracks.map { ($0.id, $0.box, $0.hits) } }

    /// Processes the next decoded frame; `threads` workers for detection (the result does not depend on it).
    public func process(_ frame: VideoFrame, threads: Int) -> FaceResult {
        process(rgb: frame.image.pixels, width: frame.image.width, height: frame.image.height, time: frame.time, threads: threads)
    }

    /// Processes one frame of packed RGB (row-major, no padding). `time` in seconds (for smoothing).
    public func process(rgb: [UInt8], width: Int, height: Int, time: Double, threads: Int) -> FaceResult {
        defer { frameCount += 1 }
        let size = config.template.size
        let none = FaceResult(crop: RGBImage(black: size, size), found: false,
                              box: FaceBox(x: 0, y: 0, width: 0, height: 0), score: 0, landmarks: [], cropToSource: .identity, trackID: 0, detected: false)
        guard width >= 1, height >= 1, rgb.count == width * height * 3 else { return none }
        let gray = GrayImage(rgb: rgb, width: width, height: height)

        var detectedIDs = Set<Int>()
        // Full detection on schedule: the frontal pass, and when it finds nothing one of the fallback passes
        // (roll views; profile and mirrored profile when enabled) in turn, so a detection frame costs at most two passes.
        let interval = max(1, config.detectionInterval)
        if frameCount % interval == 0 {
            let boxes = detector.detect(gray, fallbackPass: fallbackCycle, threads: threads)
            fallbackCycle += 1
            associate(boxes, detected: &detectedIDs)
            // Tracks the full-frame pass missed (small, turned or tilted faces) still get a local look.
            for k in tracks.indices where !detectedIDs.contains(tracks[k].id) && tracks[k].firstFrame != frameCount {
                redetectLocally(gray, track: k, detected: &detectedIDs, threads: threads)
            }
        } else {
            // Local re-detection around each track at its own scale.
            for k in tracks.indices {
                redetectLocally(gray, track: k, detected: &detectedIDs, threads: threads)
            }
        }
        for k in tracks.indices where !detectedIDs.contains(tracks[k].id) { tracks[k].missed += 1 }
        for t in tracks where detectedIDs.contains(t.id) {
            var h = history[t.id] ?? (frameCount, frameCount, 0, 0)
            h.last = frameCount; h.hits += 1; h.widthSum += t.box.width
            history[t.id] = h
        }
        for t in tracks where t.missed > config.maxMissedFrames { recentlyLost.append((t, frameCount)) }
        recentlyLost.removeAll { frameCount - $0.frame > config.reidentifyFrames }
        tracks.removeAll { $0.missed > config.maxMissedFrames }
        chooseSubject()

        guard let sid = subjectID, let k = tracks.firstIndex(where: { $0.id == sid }) else {
            filter.reset()
            return none
        }
        // A track that was not re-detected this frame keeps following its landmarks for a few frames.
        let wasDetected = detectedIDs.contains(sid)
        if !wasDetected && tracks[k].missed > config.maxBridgedFrames {
            filter.reset()
            return none
        }
        let startBox = wasDetected ? tracks[k].box : (tracks[k].landmarks.isEmpty ? tracks[k].box : predictor.expectedBox(for: tracks[k].landmarks))
        let refined = predictor.predictRefined(gray, box: startBox, refinements: 2)
        tracks[k].landmarks = refined.landmarks

        var points = fivePoints(fromIBUG68: refined.landmarks)
        if config.smoothing {
            let dt = lastTime.map { max(1e-3, time - $0) } ?? 1.0 / 30
            let eyeDistance = hypot(points[1].x - points[0].x, points[1].y - points[0].y)
            points = filter.filter(points, dt: dt, unit: max(1, eyeDistance), minCutoff: config.smoothingMinCutoff, beta: config.smoothingBeta)
        }
        lastTime = time
        guard let toTemplate = SimilarityTransform.estimate(from: points, to: config.template.points) else { return none }
        let crop = AffineWarp.warpRGB(rgb, width: width, height: height, toSource: toTemplate.inverse, size: size)
        let lmBox = refined.box
        let box = FaceBox(x: lmBox.x, y: lmBox.y, width: lmBox.width, height: lmBox.height, score: tracks[k].lastScore)
        return FaceResult(crop: RGBImage(width: size, height: size, pixels: crop), found: true, box: box, score: tracks[k].lastScore,
                          landmarks: refined.landmarks, cropToSource: toTemplate.inverse, trackID: sid, detected: wasDetected)
    }

    var currentSubject: Track? { subjectID.flatMap { id in tracks.first { $0.id == id } } }

    /// Matches detections to tracks greedily by IoU (≥ 0.3); unmatched detections start new tracks.
    func associate(_ boxes: [FaceBox], detected: inout Set<Int>) {
        var pairs: [(iou: Double, track: Int, box: Int)] = []
        for (ti, t) in tracks.enumerated() {
            // Tracks keep detector boxes (full-frame or local), so like is compared with like.
            for (bi, b) in boxes.enumerated() {
                let iou = t.box.iou(b)
                if iou >= 0.3 { pairs.append((iou, ti, bi)) }
            }
        }
        pairs.sort { $0.iou > $1.iou }
        var usedT = Set<Int>(), usedB = Set<Int>()
        for p in pairs where !usedT.contains(p.track) && !usedB.contains(p.box) {
            usedT.insert(p.track); usedB.insert(p.box)
            tracks[p.track].box = boxes[p.box]
            tracks[p.track].lastScore = boxes[p.box].score
            tracks[p.track].hits += 1
            tracks[p.track].missed = 0
            detected.insert(tracks[p.track].id)
        }
        for (bi, b) in boxes.enumerated() where !usedB.contains(bi) {
            // A face reappearing where a track was recently lost, at a similar size, takes that track's id back.
            if let j = recentlyLost.indices.filter({ Self.sameFace(recentlyLost[$0].track.box, b) })
                .max(by: { recentlyLost[$0].frame < recentlyLost[$1].frame }) {
                var t = recentlyLost.remove(at: j).track
                t.box = b; t.lastScore = b.score; t.hits += 1; t.missed = 0; t.landmarks = []
                tracks.append(t)
                detected.insert(t.id)
                continue
            }
            tracks.append(Track(id: nextID, box: b, lastScore: b.score, firstFrame: frameCount))
            detected.insert(nextID)
            nextID += 1
        }
    }

    /// Centres within 0.6 face widths and widths within a factor 1.5.
    static func sameFace(_ a: FaceBox, _ b: FaceBox) -> Bool {
        let ratio = a.width / max(1, b.width)
        return hypot(a.centerX - b.centerX, a.centerY - b.centerY) < 0.6 * max(a.width, b.width) && ratio > 1 / 1.5 && ratio < 1.5
    }

    /// Looks for track k's face around its last box and, when found, moves the track there.
    private func redetectLocally(_ gray: GrayImage, track k: Int, detected: inout Set<Int>, threads: Int) {
        guard let b = localDetect(gray, track: tracks[k], threads: threads) else { return }
        tracks[k].box = b
        tracks[k].lastScore = b.score
        tracks[k].hits += 1
        tracks[k].missed = 0
        detected.insert(tracks[k].id)
    }

    /// The best detection near a track: a view 1.6× the face, scaled so the face spans ~1.5 cascade windows and
    /// rotated to level the eyes of the track's last landmarks (so a tilted head is still a frontal face).
    func localDetect(_ gray: GrayImage, track: Track, threads: Int) -> FaceBox? {
        let box = track.box
        var angle = 0.0
        if track.landmarks.count == 68 {
            let p = fivePoints(fromIBUG68: track.landmarks)
            angle = atan2(p[1].y - p[0].y, p[1].x - p[0].x)
        }
        let window = Double(max(detector.frontal.windowWidth, detector.frontal.windowHeight))
        let side = Int((1.6 * window * 1.5).rounded())                  // view pixels
        let k = box.width / (1.5 * window)                             // source pixels per view pixel
        // view (u, v) → source: centre of the view on the box centre, rotated by the head's roll.
        let a = k * cos(angle), b = k * sin(angle)
        let half = Double(side) / 2
        let t = SimilarityTransform(a: a, b: b, tx: box.centerX - (a * half - b * half), ty: box.centerY - (b * half + a * half))
        let found = detector.detect(gray, view: t, width: side, height: side, minFace: 0.6 * 1.5 * window, maxFace: 1.6 * 1.5 * window,
                                    threads: threads)
        return found.max { $0.iou(box) < $1.iou(box) }.flatMap { $0.iou(box) > 0.2 ? $0 : nil }
    }

    func chooseSubject() {
        switch config.subject {
        case .track(let n):
            subjectID = tracks.contains { $0.id == n } ? n : nil
        case .primary:
            // The visible track with the largest size × persistence; the current subject is kept unless another
            // face outweighs it by half again (no flicker between two similar faces).
            let best = tracks.filter { $0.missed == 0 }.max { weight($0) < weight($1) }
            if let current = currentSubject {
                if let best, best.id != current.id, weight(best) > 1.5 * weight(current) { subjectID = best.id }
                return
            }
            subjectID = best?.id
        case .left, .right:
            if currentSubject != nil && frameCount % max(1, config.detectionInterval) != 0 { return }
            let visible = tracks.filter { $0.missed == 0 }
            let pick = config.subject == .left ? visible.min { $0.box.centerX < $1.box.centerX } : visible.max { $0.box.centerX < $1.box.centerX }
            if let pick { subjectID = pick.id } else if currentSubject == nil { subjectID = nil }
        }
    }

    /// Face width × persistence, the persistence saturating after 25 detections (about a second).
    func weight(_ t: Track) -> Double { Double(min(t.hits, 25)) / 25 * t.box.width }
}

/// One-Euro filter (Casiez et al. 2012) over a fixed set of 2-D points, in units of `unit` (face size) so the
/// cut-off adapts to speed the same way for small and large faces.
struct OneEuroPoints {
    var value: [(x: Double, y: Double)] = []
    var derivative: [(x: Double, y: Double)] = []

    mutating func reset() { value = []; derivative = [] }

    mutating func filter(_ p: [(x: Double, y: Double)], dt: Double, unit: Double, minCutoff: Double, beta: Double) -> [(x: Double, y: Double)] {
        if value.count != p.count {
            value = p
            derivative = p.map { _ in (0, 0) }
            return p
        }
        func alpha(_ cutoff: Double) -> Double {
            let tau = 1 / (2 * Double.pi * cutoff)
            return 1 / (1 + tau / dt)
        }
        let dAlpha = alpha(1.0)
        var out = p
        for i in 0..<p.count {
            let dx = (p[i].x - value[i].x) / dt / unit, dy = (p[i].y - value[i].y) / dt / unit
            derivative[i] = (derivative[i].x + dAlpha * (dx - derivative[i].x), derivative[i].y + dAlpha * (dy - derivative[i].y))
            let speed = hypot(derivative[i].x, derivative[i].y)
            let a = alpha(minCutoff + beta * speed)
            value[i] = (value[i].x + a * (p[i].x - value[i].x), value[i].y + a * (p[i].y - value[i].y))
            out[i] = value[i]
        }
        return out
    }
}
