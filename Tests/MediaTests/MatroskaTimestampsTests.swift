import Foundation
import Media
import Testing
import TestSupport

/// `MatroskaTimestamps.ofRemux` against the tools themselves: `mkvmerge -o T.mkv VIDEO` then
/// `mkvextract T.mkv timestamps_v2 0:V.txt 1:A.txt`, as the official audio preparation runs them.
@Suite struct MatroskaTimestampsTests {
    static let mkvmerge = "/usr/bin/mkvmerge", mkvextract = "/usr/bin/mkvextract"

    static let videos = ["av_48k_stereo.mp4", "25fps.mp4", "noaudio.mp4", "rotated.mp4", "corrupt.avi"].map { "media/\($0)" }
        + TestPaths.officialFixtureVideos.map { "official:\($0)" }

    @Test(arguments: videos)
    func derivedTimestampsEqualMkvextracts(video name: String) throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.mkvmerge),
                     "mkvtoolnix is not installed: run `make` (it installs the Debian packages the tests need)")
        let video = try TestPaths.video(name)
        let dir = TestPaths.temporaryDirectory("mkv")
        defer { try? FileManager.default.removeItem(at: dir) }
        let mkv = dir.appendingPathComponent("t.mkv").path
        var r = try runCommand(Self.mkvmerge, ["-q", "-o", mkv, video])
        try #require(r.status == 0, "\(r.stdoutText)")
        let derived = try MatroskaTimestamps.ofRemux(path: video)
        let hasAudio = derived.audioStartMilliseconds != nil
        let v = dir.appendingPathComponent("v.txt").path, a = dir.appendingPathComponent("a.txt").path
        r = try runCommand(Self.mkvextract, [mkv, "timestamps_v2", "0:\(v)"] + (hasAudio ? ["1:\(a)"] : []))
        try #require(r.status == 0, "\(r.stdoutText)")
        let extracted = try MatroskaTimestamps(timestampsFile: v)
        #expect(derived.milliseconds.count == extracted.milliseconds.count)
        // Equal, except that mkvmerge rounds a timestamp lying exactly halfway between two milliseconds (after the
        // shift) up or down depending on its clusters: 1 frame of the 600 at 29.97 fps here, by 1 ms.
        let differing = zip(derived.milliseconds, extracted.milliseconds).filter { abs($0 - $1) > 1e-6 }
        #expect(differing.allSatisfy { abs($0 - $1) <= 1 + 1e-6 } && differing.count * 100 <= derived.milliseconds.count,
                "\(video): \(differing.count) timestamps differ: \(differing.prefix(5))")
        if hasAudio {
            let audio = try MatroskaTimestamps(timestampsFile: a)
            #expect(derived.audioStartMilliseconds == audio.milliseconds[0])
        }
        print("\((video as NSString).lastPathComponent): \(derived.frameCount) frames + end line \(derived.milliseconds.last!) ms, first \(derived.milliseconds[0]) ms, audio offset \(derived.audioOffsetMilliseconds.map(String.init) ?? "none") ms — as mkvextract (\(differing.count) halfway case(s) 1 ms apart)")
    }

    @Test func badTimestampFilesAreRefusedWithTheLine() throws {
        let dir = TestPaths.temporaryDirectory("ts")
        defer { try? FileManager.default.removeItem(at: dir) }
        func check(_ text: String, _ fragment: String) throws {
            let p = dir.appendingPathComponent("\(UUID().uuidString).txt").path
            try text.write(toFile: p, atomically: true, encoding: .utf8)
            #expect { try MatroskaTimestamps(timestampsFile: p) } throws: { "\($0)".contains(fragment) && "\($0)".contains(p) }
        }
        try check("0\n33\n", "timestamp format v2")
        try check("# timestamp format v2\n0\nabc\n", "line 3")
        try check("# timestamp format v2\n40\n0\n", "must not decrease")
        try check("# timestamp format v2\n0\n", "end-time line")
        #expect { try MatroskaTimestamps(timestampsFile: dir.appendingPathComponent("none.txt").path) } throws: { "\($0)".contains("no such file") }
        let ok = dir.appendingPathComponent("ok.txt").path
        try "# timestamp format v2\n21\n55\n88.366666\n".write(toFile: ok, atomically: true, encoding: .utf8)
        let t = try MatroskaTimestamps(timestampsFile: ok)
        #expect(t.frameCount == 2 && t.milliseconds == [21, 55, 88.366666])
    }
}
