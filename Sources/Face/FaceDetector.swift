import Kernels
// Multi-scale face detection with OpenCV cascades: a downscaled grayscale frame, a bilinear pyramid,
// one integral image per level, a sliding window, grouping of overlapping hits, frontal + mirrored profile.
import Foundation

/// Where the detector's model files live (Debian's opencv-data).
public enum FaceModelPaths {
    public static var cascadeDirectory: String {
        ProcessInfo.processInfo.environment["EMOPIPE_CASCADES"] ?? "/usr/share/opencv4"
    }
    public static var frontal: String { cascadeDirectory + "/haarcascades/haarcascade_frontalface_alt2.xml" }
    public static var frontalDefault: String { cascadeDirectory + "/haarcascades/haarcascade_frontalface_default.xml" }
    public static var frontalLBP: String { cascadeDirectory + "/lbpcascades/lbpcascade_frontalface_improved.xml" }
    public static var profile: String { cascadeDirectory + "/haarcascades/haarcascade_profileface.xml" }
    /// dlib's 68-point landmark model (Debian's libdlib-data).
    public static var landmarks: String {
        ProcessInfo.processInfo.environment["EMOPIPE_LANDMARKS"] ?? "/usr/share/dlib/shape_predictor_68_face_landmarks.dat"
    }
}

public struct FaceDetectorConfig: Sendable {
    /// Pyramid step between scales (OpenCV's scaleFactor).
    public var scaleFactor: Double = 1.1
    /// Raw windows a grouped detection needs, exclusive (OpenCV's minNeighbors).
    public var minNeighbors: Int = 3
    /// Frames are first box-downscaled so that their longer side is at most this (detection speed).
    public var maxDetectionSide: Int = 480
    /// Smallest face searched, in source-frame pixels (0: the cascade window at detection resolution).
    public var minFaceSize: Double = 0
    /// Haar windows with a gray-level standard deviation at most this are skipped (OpenCV: 10).
    public var minWindowStdDev: Double = 10
    /// Load the profile cascade: it re-finds turned heads in the small views around tracked faces.
    public var useProfile: Bool = true
    /// Also run the profile cascade (frame and mirror image) as a full-frame fallback. Off by default: on the
    /// evaluation set it found 3 more faces of 39 but added 9 boxes on background (docs/face.md).
    public var profileOnFullFrame: Bool = false
    /// Extra neighbours the full-frame profile pass needs on top of `minNeighbors`.
    public var profileExtraNeighbors: Int = 2
    /// In-plane head rolls (degrees) tried with the frontal cascade on a rotated view of the whole frame when
    /// neither the frontal nor the profile cascade finds anything (the cascades cover about ±15° of roll).
    public var rollAngles: [Double] = [-30, 30]
    /// Extra neighbours the rotated views need on top of `minNeighbors`.
    public var rollExtraNeighbors: Int = 2
    public init() {}
}

/// Finds faces in grayscale images. Immutable after loading; safe to share across threads.
public struct FaceDetector: Sendable {
    public let frontal: CascadeClassifier
    public let profile: CascadeClassifier?
    public var config: FaceDetectorConfig

    public init(frontal: CascadeClassifier, profile: CascadeClassifier?, config: FaceDetectorConfig = FaceDetectorConfig()) {
        self.frontal = frontal
        self.profile = profile
        self.config = config
    }

    /// Loads the default cascades from opencv-data.
    public init(config: FaceDetectorConfig = FaceDetectorConfig(), frontalPath: String = FaceModelPaths.frontal) throws {
        let f = try CascadeClassifier(contentsOfFile: frontalPath)
        let p = config.useProfile ? try CascadeClassifier(contentsOfFile: FaceModelPaths.profile) : nil
        self.init(frontal: f, profile: p, config: config)
    }

    /// Faces in `image`, boxes in `image` pixels, best first. `region` restricts the search (source pixels).
    /// `threads`: workers for the pyramid levels (the result does not depend on it).
    public func detect(_ image: GrayImage, region: FaceBox? = nil, threads: Int) -> [FaceBox] {
        detect(image, region: region, fallbackPass: nil, threads: threads)
    }

    /// Number of fallback passes (roll views, then profile and mirrored profile) after the frontal pass.
    public func fallbackPassCount(region: FaceBox? = nil) -> Int {
        (region == nil ? config.rollAngles.count : 0) + (profile != nil && config.profileOnFullFrame ? 2 : 0)
    }

    /// Faces in `image`: the frontal cascade, then, while nothing is found, the fallback passes — all of them, or
    /// only pass number `fallbackPass` (modulo their count), so a video tracker can spread their cost over frames.
    public func detect(_ image: GrayImage, region: FaceBox? = nil, fallbackPass: Int?, threads: Int) -> [FaceBox] {
        if image.width < 2 || image.height < 2 { return [] }
        // Crop to the region of interest, if any.
        var work = image
        var offsetX = 0, offsetY = 0
        if let r = region {
            let x0 = max(0, Int(r.x.rounded(.down))), y0 = max(0, Int(r.y.rounded(.down)))
            let x1 = min(image.width, Int((r.x + r.width).rounded(.up))), y1 = min(image.height, Int((r.y + r.height).rounded(.up)))
            if x1 - x0 < 8 || y1 - y0 < 8 { return [] }
            var px = [Float](repeating: 0, count: (x1 - x0) * (y1 - y0))
            for y in y0..<y1 { for x in x0..<x1 { px[(y - y0) * (x1 - x0) + (x - x0)] = image.pixels[y * image.width + x] } }
            work = GrayImage(width: x1 - x0, height: y1 - y0, pixels: px)
            offsetX = x0; offsetY = y0
        }
        let longSide = max(work.width, work.height)
        let shrink = longSide > config.maxDetectionSide ? Double(longSide) / Double(config.maxDetectionSide) : 1
        let small = shrink > 1
            ? work.downscaled(toWidth: max(1, Int((Double(work.width) / shrink).rounded())), height: max(1, Int((Double(work.height) / shrink).rounded())))
            : work
        let sx = Double(work.width) / Double(small.width), sy = Double(work.height) / Double(small.height)
        let minFace = config.minFaceSize / max(sx, sy)

        func toSource(_ boxes: [FaceBox]) -> [FaceBox] {
            boxes.map { FaceBox(x: $0.x * sx + Double(offsetX), y: $0.y * sy + Double(offsetY), width: $0.width * sx, height: $0.height * sy, score: $0.score) }
        }
        // 1. The frontal cascade.
        var boxes = toSource(BoxGrouping.suppress(detectMultiScale(frontal, small, minFace: minFace, threads: threads), threshold: 0.3))
        // 2.–3. Fallback passes, only while nothing is found: tilted heads (the frontal cascade on rotated views of
        //    the whole frame, with a stricter neighbour count since every extra pass adds chances of a false
        //    positive), then turned heads (the profile cascade, which finds faces looking one way, on the frame and
        //    its mirror image). `fallbackPass` runs just one of them (a video tracker cycles through them).
        let passes = fallbackPassCount(region: region)
        let selected: [Int] = fallbackPass.map { passes > 0 ? [$0 % passes] : [] } ?? Array(0..<passes)
        let rolls = region == nil ? config.rollAngles : []
        var rotated: [FaceBox] = []
        for pass in selected where boxes.isEmpty {
            if pass < rolls.count {
                var strict = config
                strict.rollAngles = []
                strict.minNeighbors = config.minNeighbors + config.rollExtraNeighbors
                let onlyFrontal = FaceDetector(frontal: frontal, profile: nil, config: strict)
                let k = max(sx, sy)
                let w = small.width, h = small.height
                let t = rolls[pass] * Double.pi / 180
                let a = k * cos(t), b = k * sin(t)
                let cx = Double(w) / 2, cy = Double(h) / 2   // view centre ↦ frame centre
                let view = SimilarityTransform(a: a, b: b, tx: Double(image.width) / 2 - (a * cx - b * cy),
                                               ty: Double(image.height) / 2 - (b * cx + a * cy))
                rotated += onlyFrontal.detect(image, view: view, width: w, height: h, minFace: minFace, threads: threads)
                // All roll views are pooled before deciding (a face seen at both angles is one face).
                if pass == rolls.count - 1 || fallbackPass != nil { boxes = BoxGrouping.suppress(rotated, threshold: 0.3) }
            } else if let profile, config.profileOnFullFrame {
                let mirrored = pass - rolls.count == 1
                let view = mirrored ? small.mirrored() : small
                let found = detectMultiScale(profile, view, minFace: minFace, minNeighbors: config.minNeighbors + config.profileExtraNeighbors,
                                             threads: threads).map {
                    mirrored ? FaceBox(x: Double(small.width) - $0.x - $0.width, y: $0.y, width: $0.width, height: $0.height, score: $0.score) : $0
                }
                boxes = toSource(BoxGrouping.suppress(found, threshold: 0.3))
            }
        }
        return boxes
    }

    /// Detects faces in a resampled view of `image`: view pixel (u, v) shows the source point `viewToSource(u, v)`
    /// (bilinear). The view can be rotated (to follow a tilted head) and scaled so the expected face spans a few
    /// cascade windows. Boxes come back in source pixels, axis-aligned, centred on the view detection's centre,
    /// with the view box's size scaled to source pixels. `minFace`/`maxFace` are in view pixels.
    public func detect(_ image: GrayImage, view viewToSource: SimilarityTransform, width: Int, height: Int,
                       minFace: Double = 0, maxFace: Double = .infinity, threads: Int) -> [FaceBox] {
        guard width >= 8, height >= 8, image.width >= 2, image.height >= 2 else { return [] }
        var px = [Float](repeating: 0, count: width * height)
        let t = viewToSource
        image.pixels.withUnsafeBufferPointer { src in
            px.withUnsafeMutableBufferPointer { dst in
                for v in 0..<height {
                    for u in 0..<width {
                        let sx = t.a * Double(u) - t.b * Double(v) + t.tx
                        let sy = t.b * Double(u) + t.a * Double(v) + t.ty
                        if sx < 0 || sy < 0 || sx > Double(image.width - 1) || sy > Double(image.height - 1) { continue }
                        let x0 = min(Int(sx), image.width - 2), y0 = min(Int(sy), image.height - 2)
                        let fx = Float(sx - Double(x0)), fy = Float(sy - Double(y0))
                        let p = y0 &* image.width &+ x0
                        let top = src[p] + (src[p &+ 1] - src[p]) * fx
                        let bottom = src[p &+ image.width] + (src[p &+ image.width &+ 1] - src[p &+ image.width]) * fx
                        dst[v &* width &+ u] = top + (bottom - top) * fy
                    }
                }
            }
        }
        let view = GrayImage(width: width, height: height, pixels: px)
        var found = detectMultiScale(frontal, view, minFace: minFace, threads: threads)
        if found.isEmpty, let profile {
            found = detectMultiScale(profile, view, minFace: minFace, threads: threads)
            let mirrored = view.mirrored()
            found += detectMultiScale(profile, mirrored, minFace: minFace, threads: threads).map {
                FaceBox(x: Double(width) - $0.x - $0.width, y: $0.y, width: $0.width, height: $0.height, score: $0.score)
            }
        }
        let scale = t.scale
        return BoxGrouping.suppress(found.filter { $0.width <= maxFace }, threshold: 0.3).map { b in
            let c = t.apply(b.centerX, b.centerY)
            let w = b.width * scale, h = b.height * scale
            return FaceBox(x: c.x - w / 2, y: c.y - h / 2, width: w, height: h, score: b.score)
        }
    }

    /// OpenCV's detectMultiScale on one cascade: the image is resized by 1/factor for factor = 1, s, s², …
    /// while the window still fits; windows step 2 pixels (1 pixel once factor > 2); hits are grouped.
    func detectMultiScale(_ cascade: CascadeClassifier, _ image: GrayImage, minFace: Double, minNeighbors: Int? = nil,
                          threads: Int) -> [FaceBox] {
        let ww = Double(cascade.windowWidth), wh = Double(cascade.windowHeight)
        // The pyramid levels (scale factor, size) whose window is at least `minFace`.
        var levels: [(factor: Double, width: Int, height: Int)] = []
        var factor = 1.0
        while true {
            let lw = Int((Double(image.width) / factor).rounded()), lh = Int((Double(image.height) / factor).rounded())
            if lw < cascade.windowWidth || lh < cascade.windowHeight { break }
            if ww * factor >= minFace && wh * factor >= minFace { levels.append((factor, lw, lh)) }
            factor *= config.scaleFactor
        }
        // Levels are independent: up to `threads` workers take every n-th level (nothing else runs meanwhile). Results are merged in level order, so the output does not
        // depend on the number of workers.
        var perLevel = [[FaceBox]](repeating: [], count: levels.count)
        let workers = max(1, min(threads, levels.count))
        perLevel.withUnsafeMutableBufferPointer { out in
            Parallelism.forEachWorker(workers) { w in
                var i = w
                while i < levels.count {
                    let (f, lw, lh) = levels[i]
                    let level = f == 1 ? image : image.resizedBilinear(toWidth: lw, height: lh)
                    let step = f > 2 ? 1 : 2
                    out[i] = cascade.scan(IntegralImage(level), step: step, minStdDev: config.minWindowStdDev).map { hit in
                        FaceBox(x: (Double(hit.x) * f).rounded(), y: (Double(hit.y) * f).rounded(),
                                width: (ww * f).rounded(), height: (wh * f).rounded(), score: hit.score)
                    }
                    i += workers
                }
            }
        }
        return BoxGrouping.group(perLevel.flatMap { $0 }, minNeighbors: minNeighbors ?? config.minNeighbors)
    }
}
