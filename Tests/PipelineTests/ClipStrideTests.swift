// `--clip-stride K`: the visual backbone runs on every K-th frame's clip (and the first and last frame of each head
// batch, and the input's last frame); every other frame's visual features are the linear interpolation between its
// two computed neighbours. Checked with fake features whose rows are known functions of the clip, and a head that
// outputs two of the visual features of each row, so every row's features can be read back from the output.
import Foundation
import Kernels
import Models
import Pipeline
import Testing

/// Outputs, per row, visual feature 0 as valence and feature 2 as arousal (raw rows are clipped to [-1, 1]:
/// the fake features stay well inside).
struct EchoHead: FakeFusionHead {
    let spec = HeadSpec(name: "ca")!
    var name: String { "echo" }
    func forward(audio: Tensor, visual: Tensor, threads: Int) throws -> (valence: Tensor, arousal: Tensor) {
        let n = visual.shape[0] * visual.shape[1]
        let v = Tensor(zeros: [visual.shape[0], visual.shape[1]]), a = Tensor(zeros: [visual.shape[0], visual.shape[1]])
        for r in 0..<n { v[r] = visual[r * Fake.visualWidth]; a[r] = visual[r * Fake.visualWidth + 2] }
        return (v, a)
    }
}

@Suite struct ClipStrideTests {
    static let frames = 1100   // three head batches, the last one short (ends on a frame the stride would skip)
    static let times = (0..<frames).map { Double($0) / 25 }
    static func hasFace(_ f: Int) -> Bool { !(300...340).contains(f) }

    func run(stride: Int) throws -> (rows: [FrameOutput], features: FakeFeatures, summary: PipelineSummary) {
        let features = FakeFeatures()
        let pipeline = EmotionPipeline(head: EchoHead(), features: features, rules: .clean, smoothing: false, threads: 1, clipStride: stride)
        var rows: [FrameOutput] = []
        let summary = try pipeline.run(frames: FakeFrames(times: Self.times, hasFace: Self.hasFace), audio: StreamingAudio(reader: nil)) { rows.append($0) }
        return (rows, features, summary)
    }

    /// The fake clip features of frame f (what a computed clip gives), as the head echoes them.
    static func computed(_ f: Int) -> (Double, Double) {
        let frames = ClipSampling.frames(endingAt: f).map { hasFace($0) ? $0 : nil }
        let x = Fake.visual(frames)
        return (Double(x[0]), Double(x[2]))
    }

    @Test(arguments: [2, 4, 7]) func framesBetweenComputedClipsAreInterpolated(stride: Int) throws {
        let (rows, features, summary) = try run(stride: stride)
        try #require(rows.count == Self.frames)
        let batch = 512
        let computedFrames = (1...Self.frames).filter { f in (f - 1) % stride == 0 || f % batch == 0 || (f - 1) % batch == 0 || f == Self.frames }
        let allBlack = Set((1...Self.frames).filter { f in ClipSampling.frames(endingAt: f).allSatisfy { !Self.hasFace($0) } })
        for f in 1...Self.frames {
            let row = rows[f - 1]
            let expected: (Double, Double)
            if let i = computedFrames.firstIndex(of: f) {
                _ = i
                expected = Self.computed(f)
            } else {
                let l = computedFrames.last { $0 < f }!, r = computedFrames.first { $0 > f }!
                let w = Float(f - l) / Float(r - l)
                let (lv, la) = Self.computed(l), (rv, ra) = Self.computed(r)
                expected = (Double(Float(lv) + (Float(rv) - Float(lv)) * w), Double(Float(la) + (Float(ra) - Float(la)) * w))
            }
            #expect(row.valence == expected.0 && row.arousal == expected.1, "frame \(f): \(row.valence), \(row.arousal) vs \(expected)")
        }
        // Only the computed, not all-black clips went through the features (plus the black clip once).
        let throughBackbone = computedFrames.filter { !allBlack.contains($0) }.count
        #expect(features.clipsComputed == throughBackbone + 1)
        #expect(summary.clips.computed == throughBackbone)
        #expect(summary.clips.black == computedFrames.filter { allBlack.contains($0) }.count)
        #expect(summary.clips.interpolated == Self.frames - computedFrames.count)
    }

    @Test func strideOneIsEveryClip() throws {
        let (one, features, summary) = try run(stride: 1)
        for f in 1...Self.frames { #expect(one[f - 1].valence == Self.computed(f).0, "frame \(f)") }
        #expect(summary.clips.interpolated == 0)
        #expect(summary.clips.computed + summary.clips.black == Self.frames)
        #expect(features.clipsComputed == summary.clips.computed + 1)
    }
}
