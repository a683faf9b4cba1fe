import Foundation
import Media
import Pipeline
import Testing
import TestSupport

/// The pipeline's official audio (`OfficialAudioReader`: the ffmpeg wav padded or trimmed by SoX's offset, streamed)
/// equals, sample for sample, the wav the official preprocessing wrote for the fixture (`Audio_files/NAME.wav`, made
/// by `audio_preprocess.py` with ffmpeg, mkvmerge, mkvextract and SoX); its timestamps equal the official ones.
@Suite struct OfficialAudioReaderTests {
    @Test(arguments: TestPaths.officialFixtureVideos)
    func preparedWavEqualsTheOfficialOne(name: String) throws {
        let video = try TestPaths.officialFixture("videos/\(name).mp4")
        let timestamps = try MatroskaTimestamps.ofRemux(path: video)
        let offset = try #require(timestamps.audioOffsetMilliseconds)
        let reader = try #require(try OfficialAudioReader.open(video: video, timestamps: timestamps))
        var prepared: [Float] = []
        while case let chunk = try reader.read(maxSamples: 1 << 15), !chunk.isEmpty { prepared += chunk }
        let wav = try TestPaths.officialFixture("Audio_files/\(name).wav")
        let official = try #require(try decodeAudio(path: wav, alignTo: AudioDecoder.ownStart)).samples
        #expect(prepared == official, "\(name): \(prepared.count) vs \(official.count) samples")
        let file = try MatroskaTimestamps(timestampsFile: try TestPaths.officialFixture("realtimestamps/\(name)_video_ts.txt"))
        // Equal but for mkvmerge's cluster-relative rounding of exact half-milliseconds (MatroskaTimestamps' doc).
        let differing = zip(file.milliseconds, timestamps.milliseconds).filter { $0 != $1 }
        #expect(file.milliseconds.count == timestamps.milliseconds.count && differing.count <= 1
                && differing.allSatisfy { abs($0 - $1) <= 1 }, "\(differing)")
        print("\(name): offset \(offset) ms; the prepared wav (\(prepared.count) samples) and timestamps equal the official ones")
    }
}
