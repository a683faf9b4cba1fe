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

    /// `probe -` reads standard input once for the video and the audio and finds what the file gives.
    @Test func standardInputIsProbedLikeTheFile() throws {
        let file = TestPaths.fixture("media/av_48k_stereo.mp4")
        let fromFile = try json(try runCommand(bin, ["probe", file, "--decode"]))
        let r = try runCommand(bin, ["probe", "-", "--decode"], input: try Data(contentsOf: URL(fileURLWithPath: file)))
        #expect(r.status == 0 && !r.crashed, "\(r.stderr)")
        let fromPipe = try json(r)
        #expect(fromPipe["frames"] as? Int == 90 && fromPipe["has_audio"] as? Bool == true)
        for key in ["frames", "audio_samples", "audio_packets_lost", "first_time", "last_time", "width", "height"] {
            #expect(fromPipe[key] as? NSNumber == fromFile[key] as? NSNumber, "\(key)")
        }
        #expect(fromFile["audio_packets_lost"] as? Int == 0 && (fromFile["audio_samples"] as? Int ?? 0) > 130_000)
    }

    /// Audio lying further from the video in the file than the shared demuxer keeps (60 s of video) is given up
    /// instead of held: probe counts the packets and says so in one warning. Made on the fly: 70 s of tiny video
    /// whose audio starts 65 s in.
    @Test func audioTooFarFromTheVideoIsCountedAndReported() throws {
        let dir = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let video = dir.appendingPathComponent("far_audio.mkv").path
        let make = try runCommand("/usr/bin/env", ["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i",
                                                   "testsrc=size=64x48:rate=10:duration=70", "-itsoffset", "65", "-f", "lavfi",
                                                   "-i", "sine=duration=2", "-c:v", "mpeg4", "-c:a", "aac", video])
        try #require(make.status == 0, "ffmpeg failed: \(make.stderr)")
        let r = try runCommand(bin, ["probe", video, "--decode"])
        #expect(r.status == 0 && !r.crashed, "\(r.stderr)")
        let j = try json(r)
        #expect(j["frames"] as? Int == 700)
        #expect((j["audio_packets_lost"] as? Int ?? 0) > 0, "\(j)")
        #expect(r.stderr.contains("far_audio.mkv: ") && r.stderr.contains("audio packet(s) lay too far from the video"), "\(r.stderr)")
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
