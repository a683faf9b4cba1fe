import Audio
import Foundation
import Kernels
import Media
import Testing
import TestSupport

/// A real spoken recording through decode → window → spectrogram: Debian's alsa-utils "Front Center" (a voice
/// saying "front center", 1.43 s, 48 kHz mono 16-bit; alsa-utils is GPL-2, see docs/audio.md), decoded and resampled
/// to 44.1 kHz by `Media.decodeAudio` (FFmpeg). Skipped when the package is not installed (`apt-get install
/// alsa-utils`; it is in the Makefile's DEBS).
@Suite struct SpeechRecordingTests {
    static let path = "/usr/share/sounds/alsa/Front_Center.wav"
    static let available = FileManager.default.fileExists(atPath: path)

    @Test(.enabled(if: available)) func speechHasMoreEnergyThanTheSilenceAroundIt() throws {
        let track = try #require(try decodeAudio(path: Self.path), "\(Self.path) has an audio stream")
        #expect(track.sampleRate == 44100)
        let speech = track.samples
        #expect(speech.count > 60_000 && speech.count < 66_000, "1.43 s at 44.1 kHz, got \(speech.count) samples")

        // One second of digital silence, the recording, two seconds of silence; video at 29.97 fps over all of it.
        let lead = 44100, tail = 2 * 44100
        let padded = [Float](repeating: 0, count: lead) + speech + [Float](repeating: 0, count: tail)
        let fps = 30000.0 / 1001
        let frameCount = Int(Double(padded.count) / 44100 * fps)
        let ts = (0..<frameCount).map { Double($0) / fps }
        let windows = try AudioWindow(samples: padded, sampleRate: track.sampleRate, frameTimestamps: ts)
        let front = try AudioFrontEnd()

        // Every frame: shape 64 × (1 + ⌊length/441⌋), all values finite and within the dB floor's range.
        var specs: [Tensor] = []
        for f in 1...frameCount {
            let s = try front.spectrogram(frame: f, of: windows)
            #expect(s.shape == [1, 64, AudioFrontEnd.spectrogramFrames(frame: f, of: windows)])
            #expect(s.shape[2] == 104 || s.shape[2] == 105)
            #expect(s.array.allSatisfy { $0.isFinite && $0 >= MelSpectrogram.silentValue - 1e-5 && $0 < 10 })
            specs.append(s)
        }

        // Within one window: a frame whose window is [≈0.5 s, ≈1.5 s) holds 0.5 s of silence then the word "front".
        // Columns are 10 ms apart; column c is centred on sample start + 441c.
        let f = Int(1.5 * fps)
        let range = windows.sampleRange(frame: f)
        let pad = windows.windowLength(frame: f) - range.count
        let spec = specs[f - 1]
        let T = spec.shape[2]
        func columnMean(_ c: Int) -> Float { (0..<64).reduce(Float(0)) { $0 + spec[$1 * T + c] } / 64 }
        func column(atSample s: Int) -> Int { (s - range.lowerBound + pad) / 441 }
        let silentColumns = column(atSample: range.lowerBound + 2 * 441)...column(atSample: lead - 2 * 441)
        let speechColumns = column(atSample: lead + 4410)...column(atSample: lead + 17640)   // 0.1–0.4 s into the recording
        let silent = silentColumns.map(columnMean), spoken = speechColumns.map(columnMean)
        let silentMean = silent.reduce(0, +) / Float(silent.count), spokenMean = spoken.reduce(0, +) / Float(spoken.count)
        // Digital silence sits on the floor (window max − 80 dB); speech averages more than 20 dB above it (≈27 dB here).
        #expect(silent.allSatisfy { abs($0 - silent[0]) < 1e-4 }, "silence columns are all at the floor")
        #expect(spokenMean > silentMean + 20 / MelSpectrogram.normalizationStd,
                "speech columns \(spokenMean) vs silence columns \(silentMean) (normalized units; 1 = 19.9 dB)")

        // Across windows: a window over the speech has far more energy than one in the silence before it.
        let beforeSpeech = specs[Int(0.9 * fps) - 1].array    // window [0, 0.9 s): only zeros
        let overSpeech = specs[Int(2.2 * fps) - 1].array      // window [≈1.17, 2.2 s): mostly speech
        #expect(beforeSpeech.allSatisfy { $0 == MelSpectrogram.silentValue })
        let mean = overSpeech.reduce(0, +) / Float(overSpeech.count)
        #expect(mean > MelSpectrogram.silentValue + 2, "mean over speech \(mean)")
    }
}
