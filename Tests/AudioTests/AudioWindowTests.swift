import Audio
import Foundation
import Kernels
import Testing
import TestSupport

/// The per-frame audio window rule, against the numpy reference (Fixtures/audio/reference.json) and by construction.
@Suite struct AudioWindowTests {
    @Test func rangesMatchFormulaReference() throws {
        let ref = try AudioReference.load()
        for w in ref.windows {
            let ts = try #require(ref.timestamps[w.timestamps])
            // A track long enough that nothing is clamped.
            let windows = try AudioWindow(samples: [Float](repeating: 0, count: 400_000), frameTimestamps: ts)
            let range = windows.sampleRange(frame: w.frame)
            #expect(range == w.start..<w.end, "\(w.timestamps) frame \(w.frame)")
            #expect(windows.windowLength(frame: w.frame) == w.padded_length, "\(w.timestamps) frame \(w.frame)")
        }
    }

    @Test func sampleRounding() throws {
        #expect(try AudioWindow.sampleIndex(seconds: 0) == 0)
        #expect(try AudioWindow.sampleIndex(seconds: 1) == 44100)
        #expect(try AudioWindow.sampleIndex(seconds: 1.034) == 45599)      // 45599.4 → 45599
        #expect(try AudioWindow.sampleIndex(seconds: 0.5 / 44100) == 1)    // exact half → away from zero
        #expect(try AudioWindow.sampleIndex(seconds: 0.033) == 1455)       // 1455.3
        #expect(try AudioWindow.sampleIndex(seconds: 0.0334) == 1473)      // 1472.94
        #expect(try AudioWindow.sampleIndex(seconds: -AudioWindow.maxSeconds) == -44_100_000_000_000)
    }

    /// Fault 2: timestamps past ±1e9 s (a crop folder at 1e-300 fps put frame 2 at 1e300 s; a damaged video can jump by
    /// 10¹⁵ s) used to trap converting their sample index to an Int; they are errors.
    @Test func hugeTimestampsAreErrors() {
        for t in [1e300, -1e300, 2.1e14, 1e9 + 1, .nan, .infinity] {
            #expect(throws: AudioError.self) { try AudioWindow.sampleIndex(seconds: t) }
            #expect(throws: AudioError.self) { try AudioWindow(samples: [0], frameTimestamps: [0, t]) }
        }
    }

    /// Content: the samples of the range, right-aligned after the zero padding; windows 32 frames apart tile the track.
    @Test func windowContentIsLeftPaddedSlice() throws {
        let fps = 25.0
        let frames = 300
        let ts = (0..<frames).map { Double($0) / fps }
        let track = (0..<(frames * 1764)).map { Float($0 % 10007) / 10007 }  // 1764 samples per frame at 25 fps
        let windows = try AudioWindow(samples: track, frameTimestamps: ts)

        // Frame 10: samples [0, 9·1764) = 15876, left-padded to 45599.
        let w10 = windows.window(frame: 10)
        #expect(w10.count == 45599)
        #expect(w10[0..<(45599 - 15876)].allSatisfy { $0 == 0 })
        #expect(Array(w10[(45599 - 15876)...]) == Array(track[0..<15876]))

        // Frame 100: [ts(69), ts(100)) = [68·1764, 99·1764): 31 intervals = 54684 samples, no padding.
        let w100 = windows.window(frame: 100)
        #expect(w100 == Array(track[(68 * 1764)..<(99 * 1764)]))
        #expect(AudioFrontEnd.spectrogramFrames(frame: 100, of: windows) == 1 + 54684 / 441)

        // Consecutive windows 31 frame-intervals long: frame f ends where frame f+31 starts.
        for f in stride(from: 40, to: 200, by: 13) {
            #expect(windows.sampleRange(frame: f).upperBound == windows.sampleRange(frame: f + 31).lowerBound)
        }

        // Frame 1 has an empty window (from ts(1) = 0 to ts(1) = 0): 45599 zeros, like missing audio.
        #expect(windows.sampleRange(frame: 1).isEmpty)
        #expect(windows.window(frame: 1).allSatisfy { $0 == 0 })
    }

    @Test func missingAudioIsAZeroWaveform() throws {
        let ts = (0..<100).map { Double($0) / 30 }
        let none = try AudioWindow(samples: nil, frameTimestamps: ts)
        #expect(!none.hasAudio)
        let front = try AudioFrontEnd()
        for f in [1, 50, 100, 101, 140] {   // 101 and 140: past the video's end
            #expect(none.sampleRange(frame: f).isEmpty)
            let w = none.window(frame: f)
            #expect(w.count == 45599 && w.allSatisfy { $0 == 0 })
            let spec = try front.spectrogram(frame: f, of: none)
            #expect(spec.shape == [1, 64, 104])
            #expect(spec.array.allSatisfy { $0 == MelSpectrogram.silentValue })
        }

        // A track that ends early: the part past its end is missing, what exists is kept and left-padded.
        let short = try AudioWindow(samples: [Float](repeating: 0.5, count: 30_000), frameTimestamps: ts)
        let r = short.sampleRange(frame: 60)          // nominal [ts(29), ts(60)) = [41160, 86730)
        #expect(r.isEmpty)
        let r2 = short.sampleRange(frame: 40)         // nominal [ts(9), ts(40)) = [11760, 57330) → [11760, 30000)
        #expect(r2 == 11760..<30000)
        let w = short.window(frame: 40)
        #expect(w.count == 45599 && w.suffix(18240).allSatisfy { $0 == 0.5 } && w.prefix(45599 - 18240).allSatisfy { $0 == 0 })
    }

    @Test func rejectsWrongRateAndBadTimestamps() {
        #expect(throws: AudioError.self) { try AudioWindow(samples: [0], sampleRate: 48000, frameTimestamps: [0]) }
        #expect(throws: AudioError.self) { try AudioWindow(samples: [0], frameTimestamps: [0, .nan]) }
    }

    /// The front end (window + spectrogram through one reusable workspace) equals the two steps done separately.
    @Test func frontEndEqualsWindowThenSpectrogram() throws {
        let ts = (0..<120).map { Double($0) * 1001 / 30000 }
        let track = (0..<(44100 * 4)).map { Float(sin(Double($0) * 0.05) * 0.3) }
        let windows = try AudioWindow(samples: track, frameTimestamps: ts)
        let front = try AudioFrontEnd()
        let mel = try MelSpectrogram()
        for f in [1, 2, 31, 32, 33, 77, 120] {
            let a = try front.spectrogram(frame: f, of: windows)
            let b = try mel(windows.window(frame: f))
            #expect(a.shape == b.shape && a.array == b.array, "frame \(f)")
        }
    }
}
