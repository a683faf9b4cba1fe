// The protocol without the 40-GFLOP model: fake frames, fake audio, fake features and a fake head go through the
// real block assembler and driver (`EmotionPipeline`), and every row is checked against an offline computation of
// the protocol written here from the contract (shared/spec/README.md), independently of Sources/Pipeline.
import Audio
import Foundation
import Kernels
import Models
import Pipeline
import Testing
import TestSupport

/// A video of fake frames: frame f's crop carries f in its first two bytes; some frames have no face.
final class FakeFrames: FrameSource {
    let times: [Double]
    let hasFace: (Int) -> Bool
    private var n = 0
    init(times: [Double], hasFace: @escaping (Int) -> Bool) { self.times = times; self.hasFace = hasFace }
    var summary: String { "fake video" }
    var expectedFrames: Int? { times.count }
    func next(timings: StageTimings) throws -> SourceFrame? {
        guard n < times.count else { return nil }
        n += 1
        var crop: [UInt8]?
        if hasFace(n) {
            var px = [UInt8](repeating: 0, count: 112 * 112 * 3)
            px[0] = UInt8(n % 251); px[1] = UInt8(n / 251)
            crop = px
        }
        return SourceFrame(number: n, time: times[n - 1], crop: crop)
    }
    var warnings: [String] { [] }
    var truncationDetail: String? { nil }
}

/// A track of samples, read in chunks.
final class FakeTrack: AudioSampleReader {
    let samples: [Float]
    private var position = 0
    init(_ samples: [Float]) { self.samples = samples }
    func read(maxSamples: Int) throws -> [Float] {
        let n = min(maxSamples, samples.count - position)
        defer { position += n }
        return Array(samples[position..<(position + n)])
    }
}

/// The fake features and head, as functions of what a clip is made of: used by the fakes below and by the offline
/// computation alike (what is under test is which clip, window and row each value comes from, not these functions).
enum Fake {
    static let visualWidth = 3

    /// A clip's features from its 8 frames' numbers (nil: black).
    static func visual(_ frames: [Int?]) -> [Float] {
        var weighted = 0.0, black = 0.0
        for (i, f) in frames.enumerated() {
            if let f { weighted += Double(i + 1) * Double(f) } else { black += 1 }
        }
        return [Float(weighted / 50_000), Float(black / 8), Float(Double(frames.last.flatMap { $0 } ?? 0) / 2_000)]
    }

    /// A window's "spectrogram": its length, a sum over every 61st sample from the end, and its first, middle and
    /// last samples (enough to tell any two different windows of the fake track apart).
    static func spectrogram(_ window: [Float]) -> [Float] {
        var sum = 0.0
        for i in stride(from: window.count - 1, through: 0, by: -61) { sum += Double(window[i]) }
        let marks = Double(window[0]) + 2 * Double(window[window.count / 2]) + 4 * Double(window[window.count - 1])
        return [Float(Double(window.count) / 100_000), Float(sum / 100), Float(marks)]
    }

    /// The head on one sequence of 16 rows: each output depends on its own row, the sequence's mean and its neighbour.
    static func head(audio: [[Float]], visual: [[Float]]) -> (valence: [Float], arousal: [Float]) {
        let mean = visual.map { Double($0[2]) }.reduce(0, +) / Double(visual.count)
        var v: [Float] = [], a: [Float] = []
        for j in 0..<visual.count {
            let x = visual[j], y = audio[j], previous = j > 0 ? Double(audio[j - 1][0]) : 0
            v.append(Float(0.9 * sin(3 * Double(x[0]) + 2 * Double(x[1]) - mean + 5 * Double(y[1]))))
            a.append(Float(1.2 * cos(2 * Double(x[2]) + Double(y[2]) + previous + 0.3 * Double(j))))
        }
        return (v, a)
    }
}

final class FakeFeatures: FeatureExtractor {
    let visualWidth = Fake.visualWidth
    let clipBatch = 4
    private(set) var clipsComputed = 0, spectrogramsComputed = 0, audioRowsComputed = 0

    func visualFeatures(of clips: [[[UInt8]?]], into rows: UnsafeMutablePointer<Float>, rowStride: Int) throws {
        #expect(clips.count <= clipBatch)
        clipsComputed += clips.count
        for (i, clip) in clips.enumerated() {
            let row = Fake.visual(clip.map { $0.map { Int($0[0]) + 251 * Int($0[1]) } })
            for c in 0..<visualWidth { rows[i * rowStride + c] = row[c] }
        }
    }

    func spectrogram(of window: [Float]) throws -> Spectrogram {
        spectrogramsComputed += 1
        return Spectrogram(bands: 1, frames: 3, values: Fake.spectrogram(window))
    }

    func audioFeatures(of spectrograms: [Spectrogram], padding: ProtocolRules.SpectrogramPadding,
                       into rows: [UnsafeMutablePointer<Float>]) throws {
        #expect(padding == .none)
        audioRowsComputed += spectrograms.count
        for (s, row) in zip(spectrograms, rows) {
            row.update(repeating: 0, count: audioFeatureWidth)
            row.update(from: s.values, count: 3)
        }
    }
}

/// What every fake head of these tests shares: no weights, visual rows of `Fake.visualWidth` features, sequences
/// of 16.
protocol FakeFusionHead: FusionHead {}
extension FakeFusionHead {
    var visualFeatures: Int { Fake.visualWidth }
    var requiredSequenceLength: Int? { 16 }
}

struct FakeHead: FakeFusionHead {
    let spec = HeadSpec(name: "ca")!
    var name: String { "fake" }
    func forward(audio: Tensor, visual: Tensor, threads: Int) throws -> (valence: Tensor, arousal: Tensor) {
        try validateInputs(audio: audio, visual: visual)
        let (b, l) = (audio.shape[0], audio.shape[1])
        let v = Tensor(zeros: [b, l]), a = Tensor(zeros: [b, l])
        for s in 0..<b {
            let rows = (0..<l).map { s * l + $0 }
            let out = Fake.head(audio: rows.map { Array(audio.data[($0 * 512)..<($0 * 512 + 3)]) },
                                visual: rows.map { Array(visual.data[($0 * Fake.visualWidth)..<(($0 + 1) * Fake.visualWidth)]) })
            for j in 0..<l { v[s * l + j] = out.valence[j]; a[s * l + j] = out.arousal[j] }
        }
        return (v, a)
    }
}

/// The protocol restated from the contract, frame by frame, with plain arrays.
struct OfflineProtocol {
    let times: [Double]
    let hasFace: (Int) -> Bool
    let track: [Float]?

    var n: Int { times.count }

    /// Contract: the clip of frame f takes f, f-4, …, f-28; with only n < 32 frames in the window, every 3rd
    /// (n ≥ 24), every 2nd (n ≥ 16), the last 8 (n ≥ 8), or all then the last repeated. Oldest first.
    func clipFrames(_ f: Int) -> [Int] {
        let available = Array(max(1, f - 31)...f)
        let count = available.count
        if count < 8 { return available + Array(repeating: f, count: 8 - count) }
        let step = count == 32 ? 4 : count >= 24 ? 3 : count >= 16 ? 2 : 1
        var picked: [Int] = []
        var i = available.count - 1
        while i >= 0 { picked.append(available[i]); i -= step }
        return Array(picked.prefix(8).reversed())
    }

    /// Contract: samples from the timestamp of frame f-31 (or 0) to the timestamp of frame f, rounded to the nearest
    /// sample; what exists of them, left-padded with zeros to 45599.
    func window(_ f: Int) -> [Float] {
        guard let track else { return [Float](repeating: 0, count: 45599) }
        func index(_ t: Double) -> Int { Int((t * 44100).rounded()) }
        let start = f < 32 ? 0 : max(0, index(times[f - 32]))
        let end = max(start, index(times[f - 1]))
        let present = Array(track[min(start, track.count)..<min(end, track.count)])
        return [Float](repeating: 0, count: max(0, 45599 - present.count)) + present
    }

    /// Per frame: the raw valence and arousal of the clip ending on it, in its sequence of 16.
    func rawOutputs() -> [(Double, Double)] {
        var out = [(Double, Double)](repeating: (0, 0), count: n)
        var block = 0
        while 512 * block < n {
            for k in 0..<32 {
                let ends = (0..<16).map { 512 * block + k + 1 + 32 * $0 }
                guard ends[0] <= n else { continue }
                var visual: [[Float]] = [], audio: [[Float]] = []
                for e in ends {
                    if e <= n {
                        visual.append(Fake.visual(clipFrames(e).map { hasFace($0) ? $0 : nil }))
                        audio.append(Fake.spectrogram(window(e)))
                    } else {   // past the end: black and silent
                        visual.append(Fake.visual(Array(repeating: nil, count: 8)))
                        audio.append(Fake.spectrogram([Float](repeating: 0, count: 45599)))
                    }
                }
                let (v, a) = Fake.head(audio: audio, visual: visual)
                for (j, e) in ends.enumerated() where e <= n { out[e - 1] = (Double(v[j]), Double(a[j])) }
            }
            block += 1
        }
        return out
    }

    /// Contract: clip to [-1, 1], then a uniform moving average, zeros outside the video: 20 frames (offsets
    /// -10…+9) for valence, 50 (-25…+24) for arousal.
    static func smooth(_ x: [Double], size: Int) -> [Double] {
        (0..<x.count).map { i in
            var s = 0.0
            for k in (i - size / 2)...(i + (size - 1) / 2) where k >= 0 && k < x.count { s += min(1, max(-1, x[k])) }
            return s / Double(size)
        }
    }
}

@Suite struct BlockAssemblerTests {
    /// 1517 frames: three blocks, the last one short, so some sequences hold clips past the end.
    static let frames = 1517
    /// Variable frame intervals around 1/30 s.
    static let times = (0..<frames).map { Double($0) / 30 + 0.004 * sin(Double($0)) }
    static func hasFace(_ f: Int) -> Bool { f % 7 != 3 && !(200...260).contains(f) }
    /// 45 s of audio: the last frames' windows run past the end of the track.
    static let track: [Float] = (0..<(44100 * 45)).map { (i: Int) -> Float in
        let t = Double(i)
        return Float(0.5 * sin(t * 0.0007) + 0.1 * sin(t * 0.013))
    }

    func run(audio: [Float]?, smoothing: Bool) throws -> (rows: [FrameOutput], features: FakeFeatures) {
        let features = FakeFeatures()
        let pipeline = EmotionPipeline(head: FakeHead(), features: features, rules: .clean, smoothing: smoothing, threads: 1)
        var rows: [FrameOutput] = []
        let summary = try pipeline.run(frames: FakeFrames(times: Self.times, hasFace: Self.hasFace),
                                       audio: StreamingAudio(reader: audio.map(FakeTrack.init))) { rows.append($0) }
        #expect(summary.frames == Self.frames)
        #expect(summary.framesWithFace == (1...Self.frames).filter(Self.hasFace).count)
        return (rows, features)
    }

    @Test(arguments: [true, false]) func everyRowMatchesTheOfflineProtocol(withAudio: Bool) throws {
        let offline = OfflineProtocol(times: Self.times, hasFace: Self.hasFace, track: withAudio ? Self.track : nil)
        let raw = offline.rawOutputs()
        let expectedValence = OfflineProtocol.smooth(raw.map { $0.0 }, size: 20)
        let expectedArousal = OfflineProtocol.smooth(raw.map { $0.1 }, size: 50)

        let (rows, features) = try run(audio: withAudio ? Self.track : nil, smoothing: true)
        try #require(rows.count == Self.frames)
        for (i, row) in rows.enumerated() {
            #expect(row.frame == i + 1 && row.time == Self.times[i] && row.face == Self.hasFace(i + 1))
            #expect(abs(row.valence - expectedValence[i]) < 1e-12 && abs(row.arousal - expectedArousal[i]) < 1e-12,
                    "frame \(i + 1): \(row.valence), \(row.arousal) vs \(expectedValence[i]), \(expectedArousal[i])")
        }
        // Each frame's clip is computed once — unless its 8 crops are all black: then the black clip's features stand
        // for it — plus the black clip once; each window once, plus the silent one.
        let allBlack = (1...Self.frames).filter { f in ClipSampling.frames(endingAt: f).allSatisfy { !Self.hasFace($0) } }.count
        #expect(allBlack > 0)
        #expect(features.clipsComputed == Self.frames - allBlack + 1)
        #expect(features.spectrogramsComputed == (withAudio ? Self.frames : 0) + 1)
        #expect(features.audioRowsComputed == features.spectrogramsComputed)

        let (rawRows, _) = try run(audio: withAudio ? Self.track : nil, smoothing: false)
        for (i, row) in rawRows.enumerated() {
            #expect(row.valence == min(1, max(-1, raw[i].0)) && row.arousal == min(1, max(-1, raw[i].1)), "frame \(i + 1)")
        }
    }

    /// The assembler alone: clips, windows, batches and past-end rows for the same video.
    @Test func assemblerDecidesClipsWindowsAndBatches() throws {
        var assembler = BlockAssembler(rules: .clean, hasAudio: true)
        let offline = OfflineProtocol(times: Self.times, hasFace: { _ in true }, track: Self.track)
        var completed: [HeadBatch] = []
        for f in 1...Self.frames {
            let (clip, batch) = try assembler.add(time: Self.times[f - 1])
            #expect(clip.frame == f && clip.frames == offline.clipFrames(f).map { Optional($0) })
            let loc = ((f - 1) % 512 % 32, (f - 1) % 512 / 32)
            #expect(clip.batch == (f - 1) / 512 && clip.row == loc.0 * 16 + loc.1)
            if case .samples(let r) = clip.audio {
                let start = f < 32 ? 0 : max(0, Int((Self.times[f - 32] * 44100).rounded()))
                #expect(r == start..<max(start, Int((Self.times[f - 1] * 44100).rounded())))
            } else { Issue.record("frame \(f): silence") }
            if let batch { completed.append(batch) }
        }
        #expect(completed.map(\.index) == [0, 1] && completed.allSatisfy { $0.sequences == 32 && $0.pastEnd.isEmpty })
        let last = try #require(assembler.finish())
        // Block 2 holds frames 1025…1517: all 32 sequences start inside it; clip ends above 1517 are past the end.
        #expect(last.index == 2 && last.sequences == 32 && last.frameCount == Self.frames)
        let pastEnd = (0..<32).flatMap { k in (0..<16).map { 1024 + k + 1 + 32 * $0 }.filter { $0 > Self.frames } }
        #expect(last.pastEnd.map(\.frame).sorted() == pastEnd.sorted())
        #expect(last.pastEnd.allSatisfy { $0.frames.allSatisfy { $0 == nil } && $0.audio == .silence })
    }

    /// A short input: the last batch has fewer sequences than a block.
    @Test func shortInputUsesAPrefixOfTheBlock() throws {
        var assembler = BlockAssembler(rules: .clean, hasAudio: false)
        for f in 1...20 { #expect(try assembler.add(time: Double(f)).completed == nil) }
        let last = try #require(assembler.finish())
        #expect(last.sequences == 20 && last.rows == 320)
        #expect(last.pastEnd.count == 20 * 15)
        #expect(BlockAssembler(rules: .clean, hasAudio: false).finish() == nil)
    }
}
