import ArgumentParser
import Face
import Foundation
import Kernels
import Media
import Pipeline

/// `emopipe faces`: detect, track and align the subject's face in every frame (CSV on stdout), or, with
/// `--detections`, every raw MTCNN detection of every frame.
struct Faces: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Find, follow and align one person's face through a video: a CSV row per frame, optional 112×112 crops.",
        discussion: """
        CSV on stdout: \(trackingHeader) — frame 1-based, time in seconds from the first frame, face 1/0, the \
        subject's face box in source-frame pixels and its face probability, and the five points (eye centres, nose \
        tip, mouth corners; left = smaller x) the crop was aligned from, after smoothing (0 when no face).

        The subject is the largest, most persistent face unless --subject says otherwise; stderr names it and \
        lists every track at the end.

        --detections: no tracking or smoothing; every face MTCNN finds in every frame of a video or a still \
        image (PNG, JPEG), one row each: \(detectionsHeader) (source-frame pixels, as facenet-pytorch's \
        MTCNN.detect(img, landmarks=True) returns them; boxes may extend past the frame).

        Model: MTCNN with facenet-pytorch 2.6.0's weights, fetched and converted by `make`. See docs/face.md.
        """
    )

    static let points = "left_eye_x,left_eye_y,right_eye_x,right_eye_y,nose_x,nose_y,mouth_left_x,mouth_left_y,mouth_right_x,mouth_right_y"
    static let trackingHeader = "frame,time,face,x,y,w,h,score," + points
    static let detectionsHeader = "frame,x1,y1,x2,y2,score," + points

    @Argument(help: "A video file (or a still image).")
    var path: String

    @Flag(help: "Print every raw detection of every frame instead of tracking (see above).")
    var detections = false

    @Option(parsing: .unconditional,
            help: ArgumentHelp("Smallest face searched by the full-frame detection, in pixels (default: 20 with --detections, as MTCNN.detect; else max(20, shorter side / 18)).", valueName: "px"))
    var minFace: Double?

    @Option(help: "Write the aligned 112×112 crops as DIR/00001.jpg … (1-based; frames without a face get no file, as in Aff-Wild2).")
    var crops: String?

    @Option(help: "Write a contact sheet PNG of crops sampled across the video.")
    var sheet: String?

    @Option(help: "Whose face: primary (largest, most persistent), left, right, or a track id N (ids are numbered by first appearance; stderr lists them).")
    var subject: SubjectSelection = .primary

    @Option(parsing: .unconditional, help: "Full-frame detection every N frames (O-Net refinement of each tracked face in between).")
    var detectEvery: Int = 8

    @Option(parsing: .unconditional, help: "Crop template zoom (1 = the 112×112 five-point template; < 1 adds margin).")
    var zoom: Double = 1

    @Option(help: "Write the first frame with the subject's face as a PNG with its box and five points drawn (a visual check).")
    var overlay: String?

    @Flag(help: "Turn off temporal smoothing of the alignment.")
    var noSmoothing = false

    @OptionGroup var threads: ThreadsOption

    func validate() throws {
        guard detectEvery >= 1 else { throw ValidationError("--detect-every must be ≥ 1") }
        guard zoom > 0.3, zoom < 3 else { throw ValidationError("--zoom must be between 0.3 and 3") }
        if let minFace, !(8...10_000).contains(minFace) { throw ValidationError("--min-face must be between 8 and 10000 pixels, not \(minFace)") }
        if detections, crops != nil || sheet != nil || overlay != nil {
            throw ValidationError("--detections prints detections only; --crops, --sheet and --overlay need tracking (drop --detections)")
        }
    }

    func run() throws {
        if detections { return try runDetections() }
        var options = InputOptions(subject: subject, rules: .clean)   // faces only: no audio preparation, no end-time frame
        options.face.detectionInterval = detectEvery
        options.face.smoothing = !noSmoothing
        options.face.template = .fivePoint112(zoom: zoom)
        options.face.minFaceSize = minFace
        let input = try PipelineInput.open(path, options: options, threads: threads.threads, faces: FaceModels.load)
        guard let video = input.videoSource, let tracker = input.tracker else {
            throw PipelineError(path, "is a folder of crops: its faces are already aligned", remedy: "give a video")
        }
        let info = video.decoder.info
        if let crops {
            do { try FileManager.default.createDirectory(atPath: crops, withIntermediateDirectories: true) } catch {
                throw PipelineError(crops, "cannot be created (\(OneLine.reason(for: error)))", remedy: "choose a folder you can write to")
            }
        }
        printError("faces: \(path): \(info.width)×\(info.height), \(String(format: "%.3f", info.frameRate)) fps; subject: \(subject)")

        let out = BufferedText(StandardOutput.shared)
        try out.append(Self.trackingHeader + "\n")
        let noPoints = String(repeating: ",0", count: 10)
        var sheetBuilder = sheet.map { _ in ContactSheet(expectedFrames: video.expectedFrames ?? 300) }
        var frames = 0, found = 0
        var subjectIDs: [Int: Int] = [:]
        let progress = ProgressLine(label: "faces", total: info.declaredFrameCount)
        let timings = StageTimings()
        while try video.next(timings: timings) != nil, let frame = video.lastFrame, let r = video.lastFaceResult {
            frames += 1
            if r.found {
                if let overlay, found == 0 { try writePNG(drawOverlay(frame.image, r), to: overlay) }
                found += 1
                subjectIDs[r.trackID, default: 0] += 1
                let points = r.alignmentPoints.map { ",\(fmt($0.x, 2)),\(fmt($0.y, 2))" }.joined()
                try out.append("\(frame.index + 1),\(fmt(frame.time, 4)),1,\(fmt(r.box.x, 1)),\(fmt(r.box.y, 1)),\(fmt(r.box.width, 1)),\(fmt(r.box.height, 1)),\(fmt(r.score, 4))\(points)\n")
                if let crops { try writeJPEG(r.crop, to: crops + "/" + String(format: "%05d.jpg", frame.index + 1), quality: 2) }
            } else {
                try out.append("\(frame.index + 1),\(fmt(frame.time, 4)),0,0,0,0,0,0\(noPoints)\n")
            }
            sheetBuilder?.offer(index: frame.index, crop: r.crop)
            progress.update(frames)
        }
        progress.finish()
        try out.flush()
        if let sheet, let s = sheetBuilder { try writePNG(s.render(), to: sheet) }
        let tracks = tracker.seenTracks.map { "#\($0.id) (frames \($0.first + 1)–\($0.last + 1), found in \($0.hits), mean width \(Int($0.meanWidth)) px)" }
        printError("faces: tracks: \(tracks.isEmpty ? "none" : tracks.joined(separator: "; "))")
        let subjects = subjectIDs.sorted { $0.key < $1.key }.map { "#\($0.key) in \($0.value) frames" }.joined(separator: ", ")
        let faceSeconds = timings[.face]
        printError("faces: \(found)/\(frames) frames with the subject's face (\(subjects.isEmpty ? "none" : subjects)); face path \(fmt(frames > 0 ? 1000 * faceSeconds / Double(frames) : 0, 1)) ms/frame")
        try input.checkSubjectFound()
        if let t = video.truncationDetail { warn("\(path): truncated: \(t)") }
    }

    /// `--detections`: MTCNN.detect on every frame, every detection printed.
    private func runDetections() throws {
        let models = try FaceModels.load()
        let decoder = try VideoDecoder(path: path)
        var options = MTCNN.Options()
        options.minFaceSize = minFace ?? options.minFaceSize
        let out = BufferedText(StandardOutput.shared)
        try out.append(Self.detectionsHeader + "\n")
        let progress = ProgressLine(label: "faces", total: decoder.info.declaredFrameCount)
        let workspace = MTCNNWorkspace()   // the detector's buffers, reused frame after frame
        var frames = 0, total = 0
        while let frame = try decoder.next() {
            frames += 1
            for d in models.detector.detect(frame.image, options: options, threads: threads.threads, workspace: workspace) {
                total += 1
                let points = d.landmarks.map { ",\(fmt($0.x, 3)),\(fmt($0.y, 3))" }.joined()
                try out.append("\(frame.index + 1),\(fmt(d.x1, 3)),\(fmt(d.y1, 3)),\(fmt(d.x2, 3)),\(fmt(d.y2, 3)),\(fmt(d.score, 6))\(points)\n")
            }
            progress.update(frames)
        }
        progress.finish()
        try out.flush()
        printError("faces: \(total) detection(s) in \(frames) frame(s) (min face \(fmt(options.minFaceSize, 1)) px)")
        if decoder.truncated { warn("\(path): truncated: \(decoder.truncationDetail ?? "ends early")") }
    }

    private func fmt(_ v: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", v) }

    /// The frame with the face box (white) and the five points: eyes blue, nose green, mouth corners red.
    private func drawOverlay(_ image: RGBImage, _ r: FaceResult) -> RGBImage {
        var px = image.pixels
        let w = image.width, h = image.height
        func put(_ x: Int, _ y: Int, _ c: (UInt8, UInt8, UInt8)) {
            guard x >= 0, y >= 0, x < w, y < h else { return }
            let o = (y * w + x) * 3
            px[o] = c.0; px[o + 1] = c.1; px[o + 2] = c.2
        }
        let dot = max(1, Int(r.box.width / 60))
        for (i, p) in r.landmarks.enumerated() {
            let c: (UInt8, UInt8, UInt8) = i < 2 ? (0, 0, 255) : i == 2 ? (0, 255, 0) : (255, 0, 0)
            for dy in -dot...dot { for dx in -dot...dot { put(Int(p.x.rounded()) + dx, Int(p.y.rounded()) + dy, c) } }
        }
        let x0 = Int(r.box.x.rounded()), y0 = Int(r.box.y.rounded())
        let x1 = Int((r.box.x + r.box.width).rounded()), y1 = Int((r.box.y + r.box.height).rounded())
        for x in x0...max(x0, x1) { put(x, y0, (255, 255, 255)); put(x, y1, (255, 255, 255)) }
        for y in y0...max(y0, y1) { put(x0, y, (255, 255, 255)); put(x1, y, (255, 255, 255)) }
        return RGBImage(width: w, height: h, pixels: px)
    }
}

/// Up to 48 crops (8 × 6) spread evenly over the video, tiled into one image; black tiles are frames without a face.
struct ContactSheet {
    let columns = 8, rows = 6
    let stride: Int
    var tiles: [RGBImage] = []

    init(expectedFrames: Int) {
        stride = max(1, expectedFrames / 48)
    }

    mutating func offer(index: Int, crop: RGBImage) {
        if index % stride == 0 && tiles.count < columns * rows { tiles.append(crop) }
    }

    func render() -> RGBImage {
        let tile = tiles.first?.width ?? 112, gap = 2
        let used = max(1, tiles.count)
        let cols = min(columns, used), rowsUsed = (used + columns - 1) / columns
        let w = cols * tile + (cols - 1) * gap, h = rowsUsed * tile + (rowsUsed - 1) * gap
        var px = [UInt8](repeating: 255, count: w * h * 3)
        for (k, t) in tiles.enumerated() {
            let ox = (k % columns) * (tile + gap), oy = (k / columns) * (tile + gap)
            for y in 0..<t.height {
                for x in 0..<t.width {
                    let s = (y * t.width + x) * 3, d = ((oy + y) * w + ox + x) * 3
                    px[d] = t.pixels[s]; px[d + 1] = t.pixels[s + 1]; px[d + 2] = t.pixels[s + 2]
                }
            }
        }
        return RGBImage(width: w, height: h, pixels: px)
    }
}
