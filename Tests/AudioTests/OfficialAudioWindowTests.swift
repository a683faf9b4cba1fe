import Audio
import Foundation
import Media
import Testing
import TestSupport

/// The official per-frame cut (`ffmpeg -i WAV -ss … -to …`, audio_preprocess.py) reproduced sample for sample:
/// the same command is run with ffmpeg on a noise wav, for mkvextract-style timestamps at 29.97 fps.
@Suite struct OfficialAudioWindowTests {
    /// str(datetime.timedelta(seconds=s)), as audio_preprocess.py formats the times it gives ffmpeg.
    static func timedelta(_ s: Double) -> String {
        let us = FFmpegCut.microseconds(s)
        let whole = us / 1_000_000, frac = us % 1_000_000
        let hms = String(format: "%d:%02d:%02d", whole / 3600, (whole / 60) % 60, whole % 60)
        return frac == 0 ? hms : hms + String(format: ".%06d", frac)
    }

    /// Timestamp lines like mkvmerge's for an MP4 at 30000/1001 fps whose AAC priming (1024 samples at 48 kHz)
    /// puts the first frame at 21 ms: whole milliseconds, then the end-time line.
    static func lines(frames: Int) -> [Double] {
        var ms = (0..<frames).map { k -> Double in
            let ns = Int64(k) * 1001 * 1_000_000_000 / 30000 + 21_333_333
            return Double((ns + 500_000) / 1_000_000)
        }
        ms.append(ms[frames - 1] + 33.366666)
        return ms
    }

    @Test func cutsMatchTheFFmpegCommandSampleForSample() throws {
        let dir = TestPaths.temporaryDirectory("official-cut")
        defer { try? FileManager.default.removeItem(at: dir) }
        let src = dir.appendingPathComponent("src.wav").path
        var r = try runCommand("/usr/bin/ffmpeg", ["-nostdin", "-loglevel", "error", "-f", "lavfi", "-i",
                                                   "anoisesrc=d=3.05:c=white:r=44100:a=0.5:seed=7", "-ac", "1", "-c:a", "pcm_s16le", src])
        try #require(r.status == 0, "\(r.stderr)")
        let samples = try #require(try decodeAudio(path: src, alignTo: AudioDecoder.ownStart)).samples
        let windows = OfficialAudioWindows(milliseconds: Self.lines(frames: 90))
        var differsFromNaive = 0
        for f in [1, 2, 3, 17, 31, 32, 33, 34, 40, 47, 55, 61, 64, 70, 77, 83, 88, 89, 90, 91] {
            let range = windows.range(frame: f)
            guard f <= windows.wavCount else { #expect(range == nil); continue }
            let j = f - 1, ms = windows.milliseconds
            let start = j < 31 ? 0.0 : ms[j - 31] / 1000
            var end = ms[j] / 1000
            if end == 0 { end = ms[j + 1] / 1000 }
            let out = dir.appendingPathComponent("\(f).wav").path
            r = try runCommand("/usr/bin/ffmpeg", ["-nostdin", "-loglevel", "error", "-i", src, "-ss", Self.timedelta(start),
                                                   "-to", Self.timedelta(end), "-ar", "44100", "-q:a", "0", "-map", "a", out])
            try #require(r.status == 0, "\(r.stderr)")
            let cut = try #require(try decodeAudio(path: out, alignTo: AudioDecoder.ownStart)).samples
            let rr = try #require(range)
            let expected = Array(samples[min(rr.lowerBound, samples.count)..<min(rr.upperBound, samples.count)])
            #expect(cut == expected, "frame \(f): ffmpeg kept \(cut.count) samples, the rule \(expected.count) from \(rr.lowerBound)")
            let naive = try AudioWindow.sampleIndex(seconds: end) - AudioWindow.sampleIndex(seconds: start)
            if naive != rr.count { differsFromNaive += 1 }
        }
        #expect(differsFromNaive > 0, "the selection should include windows where the two roundings differ")
    }

    @Test func frameOneAndFramesWithoutAWav() {
        // First frame at 21 ms: frame 1 is [0, 21 ms] (926 samples at 44.1 kHz), not empty.
        let w = OfficialAudioWindows(milliseconds: [21, 55, 88, 121.366666])
        #expect(w.range(frame: 1) == 0..<926)
        // First frame at 0: frame 1 takes the next line's time (audio_preprocess.py: `if end_time == 0.0`).
        let z = OfficialAudioWindows(milliseconds: [0, 40, 80, 120])
        #expect(z.range(frame: 1) == 0..<1764)
        #expect(z.range(frame: 4) == 0..<5292)           // the end-time line has its wav too
        #expect(z.range(frame: 5) == nil && z.range(frame: 0) == nil)
    }

    @Test func soxOffsets() {
        #expect(SoXOffset.samples(milliseconds: -21) == 926)    // 926.1
        #expect(SoXOffset.samples(milliseconds: 228) == 10055)  // 10054.8
    }
}
