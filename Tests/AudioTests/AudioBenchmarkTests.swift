import Audio
import Foundation
import Testing

/// Opt-in timing of the per-frame audio work (window + spectrogram), for docs/audio.md:
/// `EMOPIPE_BENCH=1 swift test --filter AudioBenchmarkTests` (the Audio module is built -O even in debug).
@Suite(.serialized) struct AudioBenchmarkTests {
    static let enabled = ProcessInfo.processInfo.environment["EMOPIPE_BENCH"] == "1"

    @Test(.enabled(if: enabled)) func windowPlusSpectrogramPerFrame() throws {
        let fps = 30000.0 / 1001
        let frames = 1800                                   // one minute at 29.97 fps
        let ts = (0..<frames).map { Double($0) / fps }
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        let track = (0..<(try AudioWindow.sampleIndex(seconds: ts.last!) + 44100)).map { _ -> Float in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: state >> 11) % 20001 - 10000) / 40000
        }
        let windows = try AudioWindow(samples: track, frameTimestamps: ts)
        let front = try AudioFrontEnd()
        let maxFrames = (1...frames).map { AudioFrontEnd.spectrogramFrames(frame: $0, of: windows) }.max()!
        let out = UnsafeMutableBufferPointer<Float>.allocate(capacity: 64 * maxFrames)
        defer { out.deallocate() }

        // Warm-up (plan, buffer growth), then the timed pass over every frame.
        for f in 1...64 {
            let n = 64 * AudioFrontEnd.spectrogramFrames(frame: f, of: windows)
            try front.spectrogram(frame: f, of: windows, into: UnsafeMutableBufferPointer(rebasing: out[0..<n]))
        }
        let clock = ContinuousClock()
        var checksum: Double = 0
        let elapsed = try clock.measure {
            for f in 1...frames {
                let n = 64 * AudioFrontEnd.spectrogramFrames(frame: f, of: windows)
                try front.spectrogram(frame: f, of: windows, into: UnsafeMutableBufferPointer(rebasing: out[0..<n]))
                checksum += Double(out[n - 1])
            }
        }
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        let perFrame = seconds / Double(frames) * 1000
        print("audio front end: \(frames) frames at 29.97 fps, window + spectrogram: "
              + String(format: "%.3f ms per frame, %.2f s total (checksum %.3f)", perFrame, seconds, checksum))
        #expect(checksum.isFinite)
        #expect(perFrame < 25, "audio must stay well under 5% of the ~0.5–1 s visual backbone per clip")
    }
}
