import Foundation
import Testing
import TestSupport

/// Opt-in (EMOPIPE_LONG_TESTS=1; several minutes): memory does not grow with the input's length.
@Suite(.serialized) struct LongRunTests {
    static var enabled: Bool { ProcessInfo.processInfo.environment["EMOPIPE_LONG_TESTS"] == "1" }

    /// Peak resident memory (VmHWM) of process `pid`, in KB.
    static func peakKB(_ pid: Int32) -> Double? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        return status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") }
            .flatMap { $0.split(separator: " ").compactMap { Double($0) }.first }
    }

    /// A 5-minute 25 fps video of a real talking face with speech, made here by looping the official-protocol
    /// fixture's clip (`make official-fixture`), so that every block runs the face tracker, the visual backbone on
    /// real crops, the audio path and the head. Rows leave emopipe after each 512-frame block, so the first rows mean
    /// block 1 is done and a row past frame 1511 (1536 − 25, the smoothing look-ahead) means block 3 is: the peak
    /// then must be within 10% of the peak after block 1.
    @Test(.enabled(if: enabled), .timeLimit(.minutes(90))) func peakMemoryAfterThreeBlocksIsThatAfterOne() throws {
        let dir = TestPaths.temporaryDirectory("emopipe-long")
        defer { try? FileManager.default.removeItem(at: dir) }
        let face = try TestPaths.officialFixture("videos/speech_25.mp4")
        let video = dir.appendingPathComponent("five-minutes.mp4").path
        let make = try runCommand("/usr/bin/env", ["ffmpeg", "-nostdin", "-v", "error", "-y", "-stream_loop", "-1", "-i", face,
                                                   "-t", "300", "-c:v", "libx264", "-preset", "ultrafast", "-crf", "30",
                                                   "-c:a", "aac", video],
                                  timeout: 600)
        try #require(make.status == 0, "ffmpeg: \(make.stderr)")
        let model = try SyntheticModels.shared.folder(head: "rjca")

        let p = Process()
        p.executableURL = TestPaths.emopipeBinary
        p.arguments = [video, "--model", model, "-q"]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        defer { if p.isRunning { p.terminate() }; p.waitUntilExit() }
        var text = "", lastFrame = 0
        var afterOne: Double?, afterThree: Double?
        while afterThree == nil {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            text += String(decoding: chunk, as: UTF8.self)
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
            if let frame = lines.dropLast().last.flatMap({ Int($0.split(separator: ",")[0]) }) { lastFrame = frame }
            text = String(lines.last ?? "")
            if afterOne == nil && lastFrame >= 1 { afterOne = Self.peakKB(p.processIdentifier) }
            if lastFrame > 1511 { afterThree = Self.peakKB(p.processIdentifier) }
        }
        let one = try #require(afterOne), three = try #require(afterThree, "the run ended at frame \(lastFrame)")
        #expect(three <= 1.1 * one, "peak \(one / 1024) MB after block 1, \(three / 1024) MB after block 3")
        print("long run: peak resident memory \(Int(one / 1024)) MB after block 1, \(Int(three / 1024)) MB after block 3")
    }
}
