import Audio
import Foundation
import Kernels
import Media
import Testing
import TestSupport

/// Media + Audio together on a real file: `Fixtures/media/av_48k_stereo.mp4` (made by Fixtures/make_fixtures.py)
/// has AAC audio starting 0.25 s after the video and a 1 kHz burst at 1.00–1.20 s of *video* time. Decoding the
/// frames' timestamps and the aligned audio, the burst must land in the spectrogram columns the window rule says.
@Suite struct VideoAudioAlignmentTests {
    static let path = TestPaths.fixture("media/av_48k_stereo.mp4")

    @Test(.enabled(if: FileManager.default.fileExists(atPath: path))) func burstLandsInTheRightColumns() throws {
        let video = try VideoDecoder(path: Self.path)
        var ts: [Double] = []
        while let frame = try video.next() { ts.append(frame.time) }
        #expect(ts.count == 90)
        let track = try #require(try decodeAudio(path: Self.path))
        let windows = try AudioWindow(samples: track.samples, sampleRate: track.sampleRate, frameTimestamps: ts)
        let front = try AudioFrontEnd()

        // The mel band whose filter peaks nearest 1 kHz.
        let fb = MelSpectrogram.filterbank
        let bin1k = Int((1000.0 / 22050 * 512).rounded())
        let band = (0..<64).max { fb.weight(bin: bin1k, filter: $0) < fb.weight(bin: bin1k, filter: $1) }!

        // Frame 40 (t = 1.3 s): window [ts(9), ts(40)) ≈ [0.267, 1.3) s, no padding needed beyond 45599.
        let f = 40
        let range = windows.sampleRange(frame: f)
        let pad = windows.windowLength(frame: f) - range.count
        let spec = try front.spectrogram(frame: f, of: windows)
        let T = spec.shape[2]
        let row = (0..<T).map { spec[band * T + $0] }
        let peak = row.max()!
        // Column c is centred on window sample 441c, i.e. on track sample range.lowerBound − pad + 441c.
        func column(atSeconds s: Double) -> Double { (s * 44100 - Double(range.lowerBound - pad)) / 441 }
        let onset = row.firstIndex { $0 > peak - 20 / MelSpectrogram.normalizationStd }!
        let offset = row.lastIndex { $0 > peak - 20 / MelSpectrogram.normalizationStd }!
        // A 20 ms analysis window can see an edge one column early or late; allow 1 column (10 ms). Measured: 0.4.
        #expect(abs(Double(onset) - column(atSeconds: 1.0)) <= 1, "onset column \(onset) vs \(column(atSeconds: 1.0))")
        #expect(abs(Double(offset) - column(atSeconds: 1.2)) <= 1, "offset column \(offset) vs \(column(atSeconds: 1.2))")
        // The burst is far above what the band holds before it.
        let before = row[0..<(onset - 5)].max()!
        #expect(peak - before > 40 / MelSpectrogram.normalizationStd, "burst \(peak) vs before \(before)")
    }
}
