// Issue 15, every face: `--subject all` runs the protocol once per face track, rows with a track column, each
// track's rows those of a `--subject N` run. On a two-person video made here from the face evaluation set's photos
// (make face-eval; skipped without it, like the other face tests).
import Foundation
import Testing
import TestSupport

enum TwoFaces {
    static var evalDirectory: String? {
        let dir = ProcessInfo.processInfo.environment["EMOPIPE_FACE_EVAL"] ?? TestPaths.packageRoot.appendingPathComponent(".build/face-eval").path
        return FileManager.default.fileExists(atPath: dir + "/grace_hopper__orig.ppm") ? dir : nil
    }

    /// Eight frames (25 fps, 480×270): the astronaut on the left, Grace Hopper on the right, moving slightly.
    static func video(in dir: URL) throws -> String {
        let eval = try #require(evalDirectory)
        let video = dir.appendingPathComponent("two.mp4").path
        let r = try runCommand("/usr/bin/ffmpeg", ["-nostdin", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "color=c=0x505050:s=480x270:r=25:d=0.32",
            "-loop", "1", "-i", eval + "/astronaut__orig.ppm", "-loop", "1", "-i", eval + "/grace_hopper__orig.ppm", "-filter_complex",
            "[1:v]scale=200:-1[a];[2:v]scale=150:-1[g];[0:v][a]overlay=x='20+20*t':y=35:shortest=1[t];[t][g]overlay=x='300-20*t':y=45:shortest=1,format=yuv420p",
            "-c:v", "libx264", "-crf", "23", video])
        guard r.status == 0 else { throw TestFailure("ffmpeg: \(r.stderr)") }
        return video
    }
}

@Suite(.serialized) struct EveryTrackTests {
    @Test(.enabled(if: TwoFaces.evalDirectory != nil)) func everyTrackEqualsItsOwnRun() throws {
        let dir = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let video = try TwoFaces.video(in: dir)
        let model = try SyntheticModels.shared.folder(head: "rjca")
        let all = try runCommand(Cluster.bin, [video, "--model", model, "--subject", "all", "--raw"], timeout: 900)
        try #require(all.status == 0, "\(all.stderr)")
        var lines = all.stdoutText.split(separator: "\n").map(String.init)
        #expect(lines.removeFirst() == "frame,time,face,track,valence,arousal")
        let byTrack = Dictionary(grouping: lines) { $0.split(separator: ",")[3] }
        #expect(byTrack.keys.sorted() == ["1", "2"], "two tracks: \(all.stderr)")
        for track in ["1", "2"] {
            let own = try runCommand(Cluster.bin, [video, "--model", model, "--subject", track, "--raw", "-q"], timeout: 900)
            try #require(own.status == 0, "\(own.stderr)")
            let expected = own.stdoutText.split(separator: "\n").dropFirst().map(String.init)
            let got = byTrack[Substring(track)]!.map { line -> String in
                var f = line.split(separator: ",", omittingEmptySubsequences: false)
                f.remove(at: 3)
                return f.joined(separator: ",")
            }
            #expect(expected.count == 8 && got == expected, "track \(track): rows differ from --subject \(track)")
            #expect(got.allSatisfy { $0.split(separator: ",")[2] == "1" }, "track \(track) has its face in every frame")
        }
        // The two tracks' values differ (their own crops), and ABAW cannot hold several subjects.
        #expect(byTrack["1"]!.map { $0.split(separator: ",")[4] } != byTrack["2"]!.map { $0.split(separator: ",")[4] })
        let abaw = try runCommand(Cluster.bin, [video, "--model", model, "--subject", "all", "--format", "abaw"])
        #expect(abaw.status == 64)
        let crops = try runCommand(Cluster.bin, [TestPaths.fixture("cropped_aligned/clip"), "--model", model, "--subject", "all"])
        #expect(crops.status == 1 && crops.stderr.contains("--subject all is for videos"))
    }
}
