import Audio
import Foundation
import Media
import Testing
import TestSupport

/// The official audio preparation reproduced from the video itself: `ffmpeg -i VIDEO -ar 44100 -ac 1 temp.wav`
/// (FFmpeg's resampler and downmix, 16-bit), checked sample for sample against the ffmpeg command's own output. The
/// SoX step and the whole prepared wav are checked through the pipeline's reader (`OfficialAudioReaderTests`).
@Suite struct OfficialAudioPreparationTests {
    static func readWAV(_ path: String) throws -> [Float] {
        try #require(try decodeAudio(path: path, alignTo: AudioDecoder.ownStart)).samples
    }

    /// emopipe's decoding, as the ffmpeg CLI writes the wav: first decoded sample first, resampled to 16-bit.
    static func ffmpegWav(_ video: String) throws -> [Float] {
        try #require(try decodeAudio(path: video, alignTo: AudioDecoder.ownStart, pcm16: true)).samples
    }

    static let videos = ["media/av_48k_stereo.mp4", "media/25fps.mp4"] + TestPaths.officialFixtureVideos.map { "official:\($0)" }

    @Test(arguments: videos)
    func decodingEqualsTheFFmpegCommand(video name: String) throws {
        let video = try TestPaths.video(name)
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
}
