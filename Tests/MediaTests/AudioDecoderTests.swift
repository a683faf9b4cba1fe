import Foundation
import Testing
import Media
import TestSupport

@Suite struct AudioDecoderTests {
    let exp = Expectations.shared

    func onset(_ s: [Float], threshold: Float = 0.05) -> Int? { s.firstIndex { abs($0) > threshold } }

    /// The audio of av_48k_stereo.mp4 starts 0.25 s after the video (minus AAC priming, as the container says);
    /// the tone burst sits at 1.00 s of video time. After alignment sample 0 is the first video frame.
    @Test func stereo48kIsDownmixedResampledAndAligned() throws {
        let clip = "av_48k_stereo.mp4"
        let d = try #require(try AudioDecoder.open(path: media(clip)))
        #expect(d.sourceSampleRate == 48000 && d.sourceChannels == 2)
        let samples = try d.readAll()
        let offset = exp.double(clip, "audio_start") - exp.double(clip, "video_start")
        let pad = Int((offset * 44100).rounded())
        // Leading silence where the audio has not started yet.
        #expect(samples.prefix(pad - 10).allSatisfy { $0 == 0 })
        // The burst where the ffmpeg CLI puts it, shifted by the stream offset.
        let cliOnset = exp.int(clip, "cli_mono_tone_onset")
        let ours = try #require(onset(samples))
        #expect(abs(ours - (pad + cliOnset)) <= 3, "onset \(ours) vs \(pad + cliOnset)")
        #expect(abs(Double(ours) / 44100 - exp.double(clip, "tone_onset_video_time")) < 0.002)
        // FFmpeg's default downmix (as `ffmpeg -ac 1`, the reference's tool): each channel at −3 dB, (0.5 + 0.3)·√½.
        let peak = samples[ours..<(ours + 4410)].map { abs($0) }.max()!
        #expect(abs(peak - Float(0.8 * 0.5.squareRoot())) < 0.03, "peak \(peak)")
        // Length: the CLI's samples plus the leading pad, give or take the resampler's tail.
        #expect(abs(samples.count - (exp.int(clip, "cli_mono_samples") + pad)) < 64)
    }

    @Test func explicitAlignmentTrimsOrPads() throws {
        let clip = "av_48k_stereo.mp4"
        let base = try #require(try decodeAudio(path: media(clip), alignTo: 0)).samples
        let later = try #require(try decodeAudio(path: media(clip), alignTo: 0.5)).samples
        let o1 = try #require(onset(base)), o2 = try #require(onset(later))
        #expect(abs((o1 - o2) - 22050) <= 1)
    }

    @Test func streamingReadsMatchOneShot() throws {
        let clip = media("25fps.mp4")
        let whole = try #require(try decodeAudio(path: clip)).samples
        let d = try #require(try AudioDecoder.open(path: clip))
        var pieces: [Float] = []
        while true {
            let c = try d.read(maxSamples: 1000)
            if c.isEmpty { break }
            #expect(c.count <= 1000)
            pieces += c
        }
        #expect(pieces == whole)
        #expect(abs(whole.count - 2 * 44100) < 2048)
    }

    @Test func noAudioStreamIsNotAnError() throws {
        #expect(try AudioDecoder.open(path: media("noaudio.mp4")) == nil)
        #expect(try VideoDecoder(path: media("noaudio.mp4")).info.hasAudio == false)
    }

    @Test func audioOnlyFileDecodes() throws {
        let t = try #require(try decodeAudio(path: media("audio_only.m4a")))
        #expect(abs(t.duration - 0.3) < 0.05)
    }
}

@Suite struct ImageTests {
    @Test func imageSequenceFolder() throws {
        let seq = try ImageSequence(folder: TestPaths.fixture("cropped_aligned/clip"), frameRate: 30)
        #expect(seq.frameCount == 6)
        #expect(seq.presentCount == 5)
        #expect(try seq.image(4) == nil)
        #expect(!seq.hasImage(4))
        let gray = [1: 32, 2: 64, 3: 96, 5: 160, 6: 192]
        for (n, g) in gray {
            let img = try #require(try seq.image(n))
            #expect(img.width == 112 && img.height == 112)
            let (r, gg, b) = img.pixel(56, 56)
            #expect(abs(Int(r) - g) <= 3 && abs(Int(gg) - g) <= 3 && abs(Int(b) - g) <= 3)
        }
        #expect(abs(seq.time(ofFrame: 31) - 1.0) < 1e-12)
    }

    @Test func badSequenceFolders() throws {
        let dir = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(throws: MediaError.self) { try ImageSequence(folder: dir.path) }
        #expect(throws: MediaError.self) { try ImageSequence(folder: dir.appendingPathComponent("nope").path) }
    }

    @Test func pngRoundTripIsExactAndJPEGIsClose() throws {
        let dir = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var px = [UInt8](repeating: 0, count: 37 * 23 * 3)
        for i in px.indices { px[i] = UInt8((i * 7) % 256) }
        let img = RGBImage(width: 37, height: 23, pixels: px)
        let png = dir.appendingPathComponent("a.png").path
        try writePNG(img, to: png)
        #expect(try decodeImage(path: png) == img)
        let flat = RGBImage(width: 40, height: 24, pixels: [UInt8](repeating: 0, count: 40 * 24 * 3).enumerated().map { i, _ in [200, 100, 50][i % 3] })
        let jpg = dir.appendingPathComponent("a.jpg").path
        try writeJPEG(flat, to: jpg)
        let back = try decodeImage(path: jpg)
        let (r, g, b) = back.pixel(20, 12)
        #expect(abs(Int(r) - 200) <= 4 && abs(Int(g) - 100) <= 4 && abs(Int(b) - 50) <= 4, "\(r),\(g),\(b)")
        // No partial file is left when writing fails.
        #expect(throws: MediaError.self) { try writePNG(img, to: dir.appendingPathComponent("no/such/dir.png").path) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == ["a.jpg", "a.png"])
    }
}
