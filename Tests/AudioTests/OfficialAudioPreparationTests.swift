import Audio
import Foundation
import Media
import Testing
import TestSupport

/// The official audio preparation reproduced from the video itself: `ffmpeg -i VIDEO -ar 44100 -ac 1 temp.wav`
/// (FFmpeg's resampler and downmix, 16-bit), then SoX's pad/trim by the mkvmerge offset. Checked sample for sample
/// against the ffmpeg command's own output and against the fixture's wav (made by the official commands).
@Suite struct OfficialAudioPreparationTests {
    static func readWAV(_ path: String) throws -> [Float] {
        try #require(try decodeAudio(path: path, alignTo: AudioDecoder.ownStart)).samples
    }

    /// emopipe's decoding, as the ffmpeg CLI writes the wav: first decoded sample first, resampled to 16-bit.
    static func ffmpegWav(_ video: String) throws -> [Float] {
        try #require(try decodeAudio(path: video, alignTo: AudioDecoder.ownStart, pcm16: true)).samples
    }

    static let videos = ["media/av_48k_stereo.mp4", "media/25fps.mp4"] + TestPaths.officialFixtureVideos.map { "official:\($0)" }

    /// A `videos` entry's path: a committed fixture, or (`official:NAME`) a video of the official fixture.
    static func path(_ video: String) throws -> String {
        video.hasPrefix("official:") ? try TestPaths.officialFixture("videos/\(video.dropFirst(9)).mp4") : TestPaths.fixture(video)
    }

    @Test(arguments: videos)
    func decodingEqualsTheFFmpegCommand(video name: String) throws {
        let video = try Self.path(name)
        let dir = TestPaths.temporaryDirectory("ffwav")
        defer { try? FileManager.default.removeItem(at: dir) }
        let wav = dir.appendingPathComponent("temp.wav").path
        let r = try runCommand("/usr/bin/ffmpeg", ["-nostdin", "-loglevel", "error", "-i", video, "-ar", "44100", "-ac", "1", "-y", wav])
        try #require(r.status == 0, "\(r.stderr)")
        let cli = try Self.readWAV(wav), ours = try Self.ffmpegWav(video)
        #expect(cli.count == ours.count)
        let differing = zip(cli, ours).filter { $0 != $1 }.count
        let worst = zip(cli, ours).map { abs($0 - $1) * 32768 }.max() ?? 0
        let first = zip(cli, ours).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? -1
        #expect(differing == 0, "\(video): \(differing) of \(cli.count) samples differ, by up to \(worst) LSB, first at \(first)")
        print("\((video as NSString).lastPathComponent): \(ours.count) samples, identical to ffmpeg -ar 44100 -ac 1")
    }

    @Test(arguments: TestPaths.officialFixtureVideos)
    func preparedWavEqualsTheOfficialOne(name: String) throws {
        let root = TestPaths.officialFixture
        let video = try TestPaths.officialFixture("videos/\(name).mp4")
        let timestamps = try MatroskaTimestamps.ofRemux(path: video)
        let offset = try #require(timestamps.audioOffsetMilliseconds)
        let prepared = SoXOffset.apply(milliseconds: offset, to: try Self.ffmpegWav(video))
        let official = try Self.readWAV(root.appendingPathComponent("Audio_files/\(name).wav").path)
        #expect(prepared == official, "\(name): \(prepared.count) vs \(official.count) samples")
        let file = try MatroskaTimestamps(timestampsFile: root.appendingPathComponent("realtimestamps/\(name)_video_ts.txt").path)
        // Equal but for mkvmerge's cluster-relative rounding of exact half-milliseconds (MatroskaTimestamps' doc).
        let differing = zip(file.milliseconds, timestamps.milliseconds).filter { $0 != $1 }
        #expect(file.milliseconds.count == timestamps.milliseconds.count && differing.count <= 1
                && differing.allSatisfy { abs($0 - $1) <= 1 }, "\(differing)")
        print("\(name): offset \(offset) ms; the prepared wav (\(prepared.count) samples) and timestamps equal the official ones")
    }
}
