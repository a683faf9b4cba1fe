// Following faces through a video: periodic full-frame MTCNN detection, O-Net refinement of every track on its
// previous box in between, the choice of the subject, One-Euro smoothing of its five points and the 112×112 crop.
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
    /// Full-frame detection every this many frames; in between, each track is refined by O-Net on its previous box.
    public var detectionInterval: Int = 8
    /// When the refinement loses a track, a full detection runs this many frames later instead of waiting for the
    /// schedule (a small or fast face the refinement could not follow is found again at once).
    public var lostTrackDetectionDelay: Int = 2
    /// Smallest face the full-frame detection searches, in frame pixels; nil = scaled with the frame,
    /// `FaceTrackerConfig.scaledMinFace` (20 px at 360 lines, 60 px at 1080).
    public var minFaceSize: Double?
    /// O-Net probability a track's refinement needs for the face to count as found in that frame (MTCNN's O-Net
    /// threshold).
    public var trackThreshold: Double = 0.7
    /// Probability a full-frame detection needs to start a new track: on the evaluation set every face scores ≥ 0.96
    /// and the one stray detection on the face-free scenes 0.929 (docs/face.md).
    public var startThreshold: Double = 0.95
    /// Frames a track survives without being found before it is dropped.
    public var maxMissedFrames: Int = 12
    /// Frames in a row the subject's crop may come from its last points alone (not found) before the frame counts
    /// as "no face": bridges short drop-outs, at the risk of that many background crops after a cut.
    public var maxBridgedFrames: Int = 2
    /// A new face appearing within this many frames of a lost track, at its place and size, gets its id back.
    public var reidentifyFrames: Int = 75
    public var subject: SubjectSelection = .primary
    /// Crop template; `zoom` < 1 leaves more margin (see docs/face.md on the Aff-Wild2 scale).
    public var template = AlignmentTemplate.fivePoint112()
    /// Temporal smoothing of the five points (One-Euro filter); false = raw per-frame alignment.
    public var smoothing: Bool = true
    public var smoothingMinCutoff: Double = 1.0   // Hz
    public var smoothingBeta: Double = 3.0        // per (inter-ocular distances per second); tuned: docs/face.md
    public init() {}

    /// The full-frame detection's smallest face for a frame: 20 px (MTCNN's default) per 360 lines of the shorter
    /// side, never below 20 — so the pyramid always starts at a ~216-line image and costs about the same at any size.
    public static func scaledMinFace(width: Int, height: Int) -> Double {
        max(20, Double(min(width, height)) / 18)
    }
}

/// What the tracker knows about the subject in one frame.
public struct FaceResult: Sendable {
    /// 112×112 RGB crop (black when no face).
    public var crop: RGBImage
    public var found: Bool
    /// The subject's MTCNN box in source-frame pixels (its probability in `score`); zero when not found.
    public var box: FaceBox
    /// O-Net's face probability of the latest detection or refinement of the subject, 0 when not found.
    public var score: Double
    /// The five points (eyes, nose tip, mouth corners) of this frame's detection/refinement; the last ones when the
    /// crop is bridged; empty when not found.
    public var landmarks: [FacePoint]
    /// The (smoothed) five points the crop was made from; empty when not found.
    public var alignmentPoints: [FacePoint]
    /// Crop pixel → source-frame pixel (identity when not found).
    public var cropToSource: SimilarityTransform
    /// The subject's track id (0 when none).
    public var trackID: Int
    /// True when the subject was found in this frame (detection or refinement), false when its crop is bridged.
    public var detected: Bool
}

struct Track {
    let id: Int
    var box: FaceBox
    var landmarks: [FacePoint]
    var hits: Int = 1
    var missed: Int = 0
    var firstFrame: Int
}

/// Streaming face tracker, one per input: call `process` once per decoded frame, in order. Memory is constant per
/// frame. The models are shared (read-only) between trackers.
public final class FaceTracker {
    public let config: FaceTrackerConfig
    public let models: FaceModels
    let workspace = MTCNNWorkspace()
    var tracks: [Track] = []
    var nextID = 1
    var subjectID: Int?
    var frameCount = 0
    /// The frame of the last full detection, and the frame an early one is due (a track was lost).
    var lastDetection = Int.min / 2
    var earlyDetection: Int?
    var filter = OneEuroPoints()
    var lastTime: Double?
    var history: [Int: (first: Int, last: Int, hits: Int, widthSum: Double)] = [:]
    /// Tracks dropped in the last `reidentifyFrames` frames, with the frame they were dropped at.
    var recentlyLost: [(track: Track, frame: Int)] = []

    public init(models: FaceModels, config: FaceTrackerConfig = FaceTrackerConfig()) {
        self.models = models
        self.config = config
    }

    /// Every track seen so far: frames of first and last detection (0-based), frames found, mean box width.
    public var seenTracks: [(id: Int, first: Int, last: Int, hits: Int, meanWidth: Double)] {
        history.sorted { $0.key < $1.key }.map { ($0.key, $0.value.first, $0.value.last, $0.value.hits, $0.value.widthSum / Double(max(1, $0.value.hits))) }
    }

    /// Tracks currently alive: (id, box, frames found).
    public var activeTracks: [(id: Int, box: FaceBox, hits: Int)] { tracks.map { ($0.id, $0.box, $0.hits) } }

    /// Processes the next decoded frame with up to `threads` threads.
    public func process(_ frame: VideoFrame, threads: Int) -> FaceResult {
        process(frame.image, time: frame.time, threads: threads)
    }

    /// Processes one RGB frame; `time` in seconds (for smoothing).
    public func process(_ image: RGBImage, time: Double, threads: Int) -> FaceResult {
        defer { frameCount += 1 }
        let size = config.template.size
        let none = FaceResult(crop: RGBImage(black: size, size), found: false, box: FaceBox(x: 0, y: 0, width: 0, height: 0),
                              score: 0, landmarks: [], alignmentPoints: [], cropToSource: .identity, trackID: 0, detected: false)
        guard image.width >= 1, image.height >= 1, image.pixels.count == image.width * image.height * 3 else { return none }

        var found = Set<Int>()
        let interval = max(1, config.detectionInterval)
        var toRefine = Array(tracks.indices)
        if frameCount % interval == 0 || earlyDetection.map({ frameCount >= $0 }) == true {
            lastDetection = frameCount
            earlyDetection = nil
            var options = MTCNN.Options()
            options.minFaceSize = config.minFaceSize ?? FaceTrackerConfig.scaledMinFace(width: image.width, height: image.height)
            let detections = models.detector.detect(image, options: options, threads: threads, workspace: workspace)
            let matched = associate(detections, found: &found)
            toRefine = toRefine.filter { !matched.contains($0) }
        }
        refine(image, tracks: toRefine, found: &found, threads: threads)
        if toRefine.contains(where: { !found.contains(tracks[$0].id) }) && earlyDetection == nil {
            earlyDetection = max(frameCount + 1, lastDetection + max(1, config.lostTrackDetectionDelay))
        }
        removeDuplicates(found: &found)
        for k in tracks.indices where !found.contains(tracks[k].id) { tracks[k].missed += 1 }
        for t in tracks where found.contains(t.id) {
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
        // A subject not found in this frame keeps its last points for a few frames (bridging drop-outs).
        let wasFound = found.contains(sid)
        if !wasFound && tracks[k].missed > config.maxBridgedFrames {
            filter.reset()
            return none
        }
        let raw = tracks[k].landmarks
        var points = raw
        if config.smoothing {
            let dt = lastTime.map { max(1e-3, time - $0) } ?? 1.0 / 30
            let eyeDistance = hypot(points[1].x - points[0].x, points[1].y - points[0].y)
            points = filter.filter(points, dt: dt, unit: max(1, eyeDistance), minCutoff: config.smoothingMinCutoff, beta: config.smoothingBeta)
        }
        lastTime = time
        guard let toTemplate = SimilarityTransform.estimate(from: points.map { ($0.x, $0.y) }, to: config.template.points) else { return none }
        let crop = AffineWarp.warpRGB(image.pixels, width: image.width, height: image.height, toSource: toTemplate.inverse, size: size)
        let t = tracks[k]
        return FaceResult(crop: RGBImage(width: size, height: size, pixels: crop), found: true, box: t.box, score: t.box.score,
                          landmarks: raw, alignmentPoints: points, cropToSource: toTemplate.inverse, trackID: sid, detected: wasFound)
    }

    var currentSubject: Track? { subjectID.flatMap { id in tracks.first { $0.id == id } } }

    /// Matches full-frame detections to tracks greedily by IoU (≥ 0.3); unmatched detections with probability ≥
    /// `startThreshold` start tracks (or take back a recently lost one's id). Returns the indices of matched tracks.
    func associate(_ detections: [FaceDetection], found: inout Set<Int>) -> Set<Int> {
        var pairs: [(iou: Double, track: Int, detection: Int)] = []
        for (ti, t) in tracks.enumerated() {
            for (di, d) in detections.enumerated() {
                let iou = t.box.iou(d.box)
                if iou >= 0.3 { pairs.append((iou, ti, di)) }
            }
        }
        pairs.sort { $0.iou > $1.iou }
        var usedT = Set<Int>(), usedD = Set<Int>()
        for p in pairs where !usedT.contains(p.track) && !usedD.contains(p.detection) {
            usedT.insert(p.track); usedD.insert(p.detection)
            update(p.track, with: detections[p.detection])
            found.insert(tracks[p.track].id)
        }
        // Tracks the refinement lost: a detection of about the same size not far from where the track was last seen
        // (within 0.6 widths, plus half a width per frame since) is the same face, moved.
        for (ti, t) in tracks.enumerated() where !usedT.contains(ti) && t.missed > 0 {
            let reach = 0.6 + 0.5 * Double(t.missed)
            let near = detections.indices.filter { !usedD.contains($0) && Self.sameFace(t.box, detections[$0].box, reach: reach) }
            guard let di = near.min(by: { Self.distance(t.box, detections[$0].box) < Self.distance(t.box, detections[$1].box) }) else { continue }
            usedT.insert(ti); usedD.insert(di)
            update(ti, with: detections[di])
            found.insert(tracks[ti].id)
        }
        for (di, d) in detections.enumerated() where !usedD.contains(di) && d.score >= config.startThreshold {
            // A face reappearing where a track was recently lost, at a similar size, takes that track's id back.
            if let j = recentlyLost.indices.filter({ Self.sameFace(recentlyLost[$0].track.box, d.box) })
                .max(by: { recentlyLost[$0].frame < recentlyLost[$1].frame }) {
                var t = recentlyLost.remove(at: j).track
                t.box = d.box; t.landmarks = d.landmarks; t.hits += 1; t.missed = 0
                tracks.append(t)
                found.insert(t.id)
                continue
            }
            tracks.append(Track(id: nextID, box: d.box, landmarks: d.landmarks, firstFrame: frameCount))
            found.insert(nextID)
            nextID += 1
        }
        return usedT
    }

    /// O-Net on each listed track's previous box: the track moves to the regressed box and its landmarks when the
    /// probability reaches `trackThreshold`.
    func refine(_ image: RGBImage, tracks indices: [Int], found: inout Set<Int>, threads: Int) {
        guard !indices.isEmpty else { return }
        let results = models.detector.refine(image, boxes: indices.map { tracks[$0].box }, threads: threads, workspace: workspace)
        for (k, r) in zip(indices, results) {
            guard let r, r.score >= config.trackThreshold else { continue }
            update(k, with: r)
            found.insert(tracks[k].id)
        }
    }

    func update(_ k: Int, with d: FaceDetection) {
        tracks[k].box = d.box
        tracks[k].landmarks = d.landmarks
        tracks[k].hits += 1
        tracks[k].missed = 0
    }

    /// Two tracks refined onto the same face (IoU > 0.5): the one found more often stays (the older on a tie).
    func removeDuplicates(found: inout Set<Int>) {
        var drop = Set<Int>()
        for i in tracks.indices {
            for j in tracks.indices where j > i && !drop.contains(tracks[i].id) && !drop.contains(tracks[j].id) {
                guard found.contains(tracks[i].id), found.contains(tracks[j].id), tracks[i].box.iou(tracks[j].box) > 0.5 else { continue }
                let weaker = tracks[i].hits >= tracks[j].hits ? j : i
                drop.insert(tracks[weaker].id)
            }
        }
        guard !drop.isEmpty else { return }
        tracks.removeAll { drop.contains($0.id) }
        found.subtract(drop)
        if let s = subjectID, drop.contains(s) { subjectID = nil }
    }

    /// Centres within `reach` face widths and widths within a factor 1.5.
    static func sameFace(_ a: FaceBox, _ b: FaceBox, reach: Double = 0.6) -> Bool {
        let ratio = a.width / max(1, b.width)
        return distance(a, b) < reach * max(a.width, b.width) && ratio > 1 / 1.5 && ratio < 1.5
    }

    static func distance(_ a: FaceBox, _ b: FaceBox) -> Double { hypot(a.centerX - b.centerX, a.centerY - b.centerY) }

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

    /// Face width × persistence, the persistence saturating after 25 frames found (about a second).
    func weight(_ t: Track) -> Double { Double(min(t.hits, 25)) / 25 * t.box.width }
}

/// One-Euro filter (Casiez et al. 2012) over a fixed set of 2-D points, in units of `unit` (face size) so the
/// cut-off adapts to speed the same way for small and large faces.
struct OneEuroPoints {
    var value: [FacePoint] = []
    var derivative: [FacePoint] = []

    mutating func reset() { value = []; derivative = [] }

    mutating func filter(_ p: [FacePoint], dt: Double, unit: Double, minCutoff: Double, beta: Double) -> [FacePoint] {
        if value.count != p.count {
            value = p
            derivative = p.map { _ in FacePoint(x: 0, y: 0) }
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
            derivative[i] = FacePoint(x: derivative[i].x + dAlpha * (dx - derivative[i].x), y: derivative[i].y + dAlpha * (dy - derivative[i].y))
            let speed = hypot(derivative[i].x, derivative[i].y)
            let a = alpha(minCutoff + beta * speed)
            value[i] = FacePoint(x: value[i].x + a * (p[i].x - value[i].x), y: value[i].y + a * (p[i].y - value[i].y))
            out[i] = value[i]
        }
        return out
    }
}
