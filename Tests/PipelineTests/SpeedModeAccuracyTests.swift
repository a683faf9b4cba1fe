// The accuracy bound of the non-exact modes (docs/performance.md): per-frame smoothed valence and arousal within 0.02
// of exact mode's, CCC with exact mode ≥ 0.99. Checked here on a generated clip (moving patterns standing in for face
// crops, a tone standing in for speech) with the synthetic model, for `--fast` and for int8 and bf16 alone; the
// measurement on the real face video, every head, is `emopipe bench --video … --all-heads` (the table in the doc).
import Foundation
import Kernels
import Media
import Models
import Pipeline
import Testing
import TestSupport

@Suite("Speed modes stay within the accuracy bound", .serialized)
struct SpeedModeAccuracyTests {
    static let frameCount = 72

    /// 112×112 RGB crops that change smoothly from frame to frame (drifting gradients and a moving blob).
    static func crop(_ f: Int) -> [UInt8] {
        var px = [UInt8](repeating: 0, count: 112 * 112 * 3)
        let t = Double(f)
        let cx = 56 + 30 * sin(t / 9), cy = 56 + 20 * cos(t / 13)
        for y in 0..<112 {
            for x in 0..<112 {
                let d = ((Double(x) - cx) * (Double(x) - cx) + (Double(y) - cy) * (Double(y) - cy)) / 400
                let blob = 120 * exp(-d)
                for c in 0..<3 {
                    let wave = 60 * sin(Double(x) / (9 + Double(c)) + t / 7) + 40 * cos(Double(y) / 11 - t / (5 + Double(c)))
                    px[(y * 112 + x) * 3 + c] = UInt8(max(0, min(255, 110 + wave + blob)))
                }
            }
        }
        return px
    }

    static let input: RecordedInput = {
        // Frames 20–51 have no face (a gap, as a real video has: the clips ending on 48–51 are all black).
        let frames = (1...frameCount).map { f in SourceFrame(number: f, time: Double(f - 1) / 25, crop: (20...51).contains(f) ? nil : crop(f)) }
        let samples = (0..<(44100 * frameCount / 25)).map { i -> Float in
            let t = Double(i) / 44100
            return Float(0.3 * sin(2 * .pi * 180 * t) * (0.6 + 0.4 * sin(2 * .pi * 1.3 * t)))
        }
        return RecordedInput(path: "generated", frames: frames, samples: samples)
    }()

    static let model: EmotionModel = {
        let dir = TestPaths.temporaryDirectory("emopipe-speed")
        defer { try? FileManager.default.removeItem(at: dir) }
        try! SyntheticModel.write(folder: dir.path, head: .rjca)
        return try! EmotionModel(folder: dir.path, head: .rjca)
    }()

    static let exact: SpeedComparison.Run = try! SpeedComparison.run(
        input, mode: .exact, head: model.head, features: try! BackboneFeatures(model: model, threads: 2), threads: 2)

    @Test("bench --video's recording of a video keeps its audio and frames as the clean protocol reads them")
    func recordedVideoKeepsItsAudio() throws {
        let path = TestPaths.fixture("media/av_48k_stereo.mp4")
        let input = try RecordedInput(path: path, model: Self.model, threads: 2)
        let video = try VideoDecoder(path: path)
        var frames = 0
        while try video.next() != nil { frames += 1 }
        let whole = try #require(try decodeAudio(path: path, alignTo: video.info.startTime ?? 0))
        let samples = try #require(input.samples, "the recording lost the video's audio")
        #expect(samples == whole.samples)
        #expect(input.frames.count == frames)
    }

    @Test("fast and int8: smoothed |Δ| ≤ 0.02 and CCC ≥ 0.99 against exact mode",
          arguments: [SpeedMode.fast, SpeedMode(precision: .int8)])
    func withinBound(_ mode: SpeedMode) throws {
        let features = try BackboneFeatures(model: mode.model(Self.model), threads: 2)
        let run = try SpeedComparison.run(Self.input, mode: mode, head: Self.model.head, features: features, threads: 2)
        let a = SpeedComparison.accuracy(run, exact: Self.exact)
        #expect(a.withinBound, "\(mode): \(a)")
        // Not trivially: the mode really changed the numbers, and the exact rows vary.
        #expect(a.rawMaxAbs.max()! > 0, "\(mode) gave exact mode's rows")
        #expect(Set(Self.exact.raw.valence).count > 10)
        if mode.clipStride > 1 { #expect(run.clips.interpolated > 0) }
    }

    @Test("bench's max-pooled cache (JMT) gives 512 per-channel maxima of layer4, also for the black clip asked without frame numbers")
    func maxPooledCache() throws {
        let layer4 = ReplayedFeatures(try BackboneFeatures(model: Self.model, threads: 2))
        let pooled = ReplayedFeatures(maxPooledFrom: layer4)
        #expect(pooled.visualWidth == 512)
        let black = [[UInt8]?](repeating: nil, count: 8)
        let clip = (1...8).map { Optional(Self.crop($0)) }
        var full = [Float](repeating: 0, count: 2 * 25088)
        try full.withUnsafeMutableBufferPointer { try layer4.source.visualFeatures(of: [black, clip], into: $0.baseAddress!, rowStride: 25088) }
        // Rows of 512 with guard values after each: a pooled call must write exactly its 512 floats per row.
        var rows = [Float](repeating: -7, count: 2 * 600)
        try rows.withUnsafeMutableBufferPointer { r in
            try pooled.visualFeatures(of: [black], into: r.baseAddress!, rowStride: 600)
            try pooled.visualFeatures(of: [clip], frames: [Array(1...8)], into: r.baseAddress! + 600, rowStride: 600)
        }
        for i in 0..<2 {
            let expected = (0..<512).map { c in full[(i * 25088 + c * 49)..<(i * 25088 + c * 49 + 49)].max()! }
            #expect(Array(rows[(i * 600)..<(i * 600 + 512)]) == expected, "clip \(i)")
            #expect(rows[(i * 600 + 512)..<(i * 600 + 600)].allSatisfy { $0 == -7 }, "clip \(i) wrote past its row")
        }
    }

    @Test("exact mode's savings (black clips, reused work) change nothing: the rows equal a run without them")
    func exactSavingsAreExact() throws {
        // The pipeline with a feature extractor that never sees frame numbers (no reuse) and every clip computed.
        final class Plain: FeatureExtractor {
            let inner: BackboneFeatures
            init(_ inner: BackboneFeatures) { self.inner = inner }
            var visualWidth: Int { inner.visualWidth }
            var clipBatch: Int { inner.clipBatch }
            func visualFeatures(of clips: [[[UInt8]?]], into rows: UnsafeMutablePointer<Float>, rowStride: Int) throws {
                try inner.visualFeatures(of: clips, into: rows, rowStride: rowStride)
            }
            func spectrogram(of window: [Float]) throws -> Spectrogram { try inner.spectrogram(of: window) }
            func audioFeatures(of spectrograms: [Spectrogram], padding: ProtocolRules.SpectrogramPadding,
                               into rows: [UnsafeMutablePointer<Float>]) throws {
                try inner.audioFeatures(of: spectrograms, padding: padding, into: rows)
            }
        }
        // The frames without a face given as black crops (what a missing crop stands for, `ClipTensor`): the driver's
        // black-clip shortcut does not recognise them, so every clip goes through the backbone.
        let black = [UInt8](repeating: 0, count: 112 * 112 * 3)
        let unskipped = RecordedInput(path: Self.input.path,
                                      frames: Self.input.frames.map { SourceFrame(number: $0.number, time: $0.time, crop: $0.crop ?? black) },
                                      samples: Self.input.samples)
        let plain = try SpeedComparison.run(unskipped, mode: .exact, head: Self.model.head,
                                            features: Plain(try BackboneFeatures(model: Self.model, threads: 2)), threads: 2)
        #expect(plain.clips.black == 0, "the comparison run skipped \(plain.clips.black) black clips")
        #expect(plain.raw.valence == Self.exact.raw.valence && plain.raw.arousal == Self.exact.raw.arousal)
        #expect(Self.exact.reusedWork > 0.05, "reused \(Self.exact.reusedWork)")
        #expect(Self.exact.clips.black > 0)
    }
}
