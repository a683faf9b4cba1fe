import Foundation
import Testing
import TestSupport

@Suite struct ProbeCommandTests {
    let bin = TestPaths.emopipeBinary.path

    func json(_ r: CommandResult) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: r.stdout) as? [String: Any])
    }

    @Test func probeReportsStreamsAndDecodes() throws {
        let r = try runCommand(bin, ["probe", TestPaths.fixture("media/av_48k_stereo.mp4"), "--decode"])
        #expect(r.status == 0, "\(r.stderr)")
        let j = try json(r)
        #expect(j["frames"] as? Int == 90)
        #expect(j["width"] as? Int == 320 && j["height"] as? Int == 240)
        #expect(j["has_audio"] as? Bool == true && j["audio_channels"] as? Int == 2)
        #expect(j["truncated"] as? Bool == false)
    }

    @Test func truncatedFileReportsFramesAndFails() throws {
        let r = try runCommand(bin, ["probe", TestPaths.fixture("media/truncated.mkv"), "--decode"])
        #expect(r.status == 3)
        #expect(!r.crashed)
        #expect(try json(r)["frames"] as? Int == 30)
        #expect(r.stderr.contains("truncated.mkv") && r.stderr.contains("truncated"))
    }

    @Test(arguments: [("media/unsupported.mkv", "unsupported"), ("media/nope.mp4", "no such file"),
                      ("media/audio_only.m4a", "no video stream"), ("expected.json", "not a media file")])
    func badInputExitsNonZeroWithOneLine(file: String, words: String) throws {
        let r = try runCommand(bin, ["probe", TestPaths.fixture(file)])
        #expect(r.status == 1)
        #expect(!r.crashed)
        #expect(r.stdout.isEmpty)
        let lines = r.stderr.split(separator: "\n")
        #expect(lines.count == 1, "\(r.stderr)")
        #expect(r.stderr.contains(file.split(separator: "/").last!) && r.stderr.contains(words), "\(r.stderr)")
    }

    @Test func corruptPacketsAreReported() throws {
        let r = try runCommand(bin, ["probe", TestPaths.fixture("media/corrupt.avi"), "--decode"])
        #expect(r.status == 0)
        #expect(try json(r)["corrupt_packets"] as? Int == 2)
        #expect(r.stderr.contains("2 corrupt packet"))
    }

    /// A 10-minute 1080p video made on the fly (not committed) decodes frame by frame in bounded memory.
    @Test(.timeLimit(.minutes(10))) func tenMinute1080pStaysUnder300MB() throws {
        let dir = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let video = dir.appendingPathComponent("long1080.mp4").path
        let make = try runCommand("/usr/bin/env", ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
                                                   "testsrc2=size=1920x1080:rate=10:duration=600", "-c:v", "libx264",
                                                   "-preset", "ultrafast", "-crf", "40", "-g", "100", video], timeout: 480)
        try #require(make.status == 0, "ffmpeg failed: \(make.stderr)")
        let r = try runCommand(bin, ["probe", video, "--decode"], timeout: 480)
        #expect(r.status == 0, "\(r.stderr)")
        let j = try json(r)
        #expect(j["frames"] as? Int == 6000)
        let peak = try #require(j["peak_memory_mb"] as? Double)
        #expect(peak < 300, "peak \(peak) MB")
        print("10-minute 1080p decode: 6000 frames, peak memory \(peak) MB")
    }
}
