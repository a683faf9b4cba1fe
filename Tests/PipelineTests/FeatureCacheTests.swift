// The features cache and several heads in one pass, without the 40-GFLOP model: the fake frames, features and
// heads of BlockAssemblerTests over three head batches (the last one short, with clips past the end).
import Foundation
import Kernels
import Models
@testable import Pipeline
import Testing
import TestSupport

/// A second fake head, another function of the same rows (so two heads' columns differ).
struct OtherFakeHead: FakeFusionHead {
    let spec = HeadSpec(name: "jca")!
    var name: String { "other" }
    func forward(audio: Tensor, visual: Tensor, threads: Int) throws -> (valence: Tensor, arousal: Tensor) {
        let (v, a) = try FakeHead().forward(audio: audio, visual: visual, threads: threads)
        for i in 0..<v.count { v[i] = 0.5 * v[i] - 0.1 * a[i]; a[i] = a[i] * a[i] - 0.3 }
        return (v, a)
    }
}

/// A head whose arousal overflows in the second head batch (finite weights can do that).
struct OverflowingHead: FakeFusionHead {
    let spec = HeadSpec(name: "dca")!
    var name: String { "overflowing" }
    let calls = Counter()
    final class Counter: @unchecked Sendable { var n = 0 }  // @unchecked: one test thread uses it
    func forward(audio: Tensor, visual: Tensor, threads: Int) throws -> (valence: Tensor, arousal: Tensor) {
        let (v, a) = try FakeHead().forward(audio: audio, visual: visual, threads: threads)
        calls.n += 1
        if calls.n == 2 { a[3] = .infinity }
        return (v, a)
    }
}

@Suite struct FeatureCacheTests {
    let times = BlockAssemblerTests.times
    let track = BlockAssemblerTests.track

    func rows(heads: [any FusionHead], audio: Bool, smoothing: Bool) throws -> [FrameOutput] {
        let pipeline = EmotionPipeline(heads: heads, features: FakeFeatures(), rules: .clean, smoothing: smoothing, threads: 1)
        var out: [FrameOutput] = []
        _ = try pipeline.run(frames: FakeFrames(times: times, hasFace: BlockAssemblerTests.hasFace),
                             audio: StreamingAudio(reader: audio ? FakeTrack(track) : nil)) { out.append($0) }
        return out
    }

    /// Writes the cache of the fake video through the driver's tap (what `emopipe features` does).
    func cache(audio: Bool, dtype: FeatureDType, in dir: URL) throws -> String {
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent("f.safetensors").path
        let file = try OutputFile(path: path)
        let writer = try FeatureCacheWriter(output: file, dtype: dtype, plan: ProtocolRules.clean.plan, visualWidth: Fake.visualWidth,
                                            metadata: ["protocol": "clean", "audio": audio ? "yes" : "none"])
        let pipeline = EmotionPipeline(heads: [], features: FakeFeatures(), rules: .clean, smoothing: true, threads: 1, tap: writer)
        _ = try pipeline.run(frames: FakeFrames(times: times, hasFace: BlockAssemblerTests.hasFace),
                             audio: StreamingAudio(reader: audio ? FakeTrack(track) : nil)) { _ in }
        try file.commit()
        return path
    }

    /// Rows from the cache equal the full run's exactly — every frame, both heads, smoothed and raw — and two heads
    /// in one pass give each head's own rows.
    @Test(arguments: [true, false]) func cachedRowsEqualTheFullRun(withAudio: Bool) throws {
        let dir = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = try cache(audio: withAudio, dtype: .f32, in: dir)
        let cached = try CachedFeatures(path: path)
        #expect(cached.frames == times.count && cached.visualWidth == Fake.visualWidth)
        // The short last batch's past-the-end rows are all one black clip and one silent window.
        #expect(try cached.file.int64s("past_end_frame").count == (0..<32).flatMap { k in (0..<16).map { 1024 + k + 1 + 32 * $0 } }.filter { $0 > times.count }.count)
        #expect(cached.file.entries["past_end_visual"]?.shape == [1, Fake.visualWidth])

        for smoothing in [true, false] {
            let heads: [any FusionHead] = [FakeHead(), OtherFakeHead()]
            let full = try rows(heads: heads, audio: withAudio, smoothing: smoothing)
            var fromCache: [FrameOutput] = []
            let summary = try cached.run(heads: heads, smoothing: smoothing, threads: 1) { fromCache.append($0) }
            #expect(summary.frames == times.count)
            try #require(full.count == times.count && fromCache.count == times.count)
            #expect(fromCache == full, "cached rows differ from the full run (smoothing \(smoothing))")
            // Each head's column equals a run of that head alone.
            for (h, head) in heads.enumerated() where smoothing {
                let alone = try rows(heads: [head], audio: withAudio, smoothing: smoothing)
                #expect(zip(alone, full).allSatisfy { $0.values == [$1.values[h]] && $0.time == $1.time && $0.face == $1.face })
            }
        }
    }

    /// A head whose output is not finite (the second of two) is an error naming its weights file — in a full run
    /// and on cached features — never a row.
    @Test func nonFiniteHeadOutputNamesThatHeadsWeights() throws {
        let dir = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let weights = ["/m/head_ca.safetensors", "/m/head_dca.safetensors"]
        let full = EmotionPipeline(heads: [FakeHead(), OverflowingHead()], features: FakeFeatures(), rules: .clean, threads: 1,
                                   headWeights: weights)
        var rows = 0
        let error = #expect(throws: NonFiniteOutputError.self) {
            _ = try full.run(frames: FakeFrames(times: times, hasFace: BlockAssemblerTests.hasFace),
                             audio: StreamingAudio(reader: FakeTrack(track))) { _ in rows += 1 }
        }
        #expect(error?.weights == weights[1] && error?.output == "arousal" && error?.index == 3)
        #expect(rows < times.count)
        let cached = try CachedFeatures(path: try cache(audio: true, dtype: .f32, in: dir))
        let again = #expect(throws: NonFiniteOutputError.self) {
            _ = try cached.run(heads: [FakeHead(), OverflowingHead()], headWeights: weights, threads: 1) { _ in }
        }
        #expect(again?.weights == weights[1])
        // Without files, the head's name.
        let unnamed = #expect(throws: NonFiniteOutputError.self) {
            _ = try cached.run(heads: [OverflowingHead()], threads: 1) { _ in }
        }
        #expect(unnamed?.weights == "head overflowing")
    }

    /// float16 caches: half the bytes per value; rows close to the full run's (not identical).
    @Test func halfPrecisionIsCloseAndSmaller() throws {
        let dir = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let f32 = try CachedFeatures(path: try cache(audio: true, dtype: .f32, in: dir.appendingPathComponent("a")))
        let f16 = try CachedFeatures(path: try cache(audio: true, dtype: .f16, in: dir.appendingPathComponent("b")))
        #expect(f16.file.entries["audio"]!.end - f16.file.entries["audio"]!.begin == (f32.file.entries["audio"]!.end - f32.file.entries["audio"]!.begin) / 2)
        var a: [FrameOutput] = [], b: [FrameOutput] = []
        _ = try f32.run(heads: [FakeHead()], threads: 1) { a.append($0) }
        _ = try f16.run(heads: [FakeHead()], threads: 1) { b.append($0) }
        let worst = zip(a, b).map { max(abs($0.valence - $1.valence), abs($0.arousal - $1.arousal)) }.max()!
        #expect(worst < 0.01 && worst > 0, "max |f16 − f32| = \(worst)")
    }

    /// float → half: round to nearest even, subnormals, overflow, against Swift's own conversion.
    @Test func halfConversion() {
        var values: [Float] = [0, -0, 1, -1, 65504, 65520, 1e6, -1e6, 6.1e-5, 5.96e-8, 2.98e-8, 2.99e-8, 1e-9, .infinity, -.infinity, .nan]
        var seed: UInt32 = 12345
        for _ in 0..<20000 {
            seed = seed &* 1_103_515_245 &+ 12345
            values.append(Float(bitPattern: (seed & 0x807F_FFFF) | (UInt32(seed >> 7 % 40 + 100) << 23)))
        }
        for v in values {
            let ours = floatToHalf(v)
            #if arch(x86_64) || arch(arm64)
            let swift = Float16(v).bitPattern
            if v.isNaN { #expect(ours & 0x7C00 == 0x7C00 && ours & 0x3FF != 0) } else { #expect(ours == swift, "\(v): \(ours) vs \(swift)") }
            #endif
        }
    }

    /// A file that is not a cache, or is damaged, is one clear error.
    @Test func badFilesAreRefused() throws {
        let dir = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let other = dir.appendingPathComponent("weights.safetensors").path
        var w = SafeTensorsWriter(metadata: ["head": "jca"])
        w.add("x", Tensor(zeros: [2]))
        try w.write(to: other)
        #expect(throws: PipelineError.self) { try CachedFeatures(path: other) }
        #expect(throws: PipelineError.self) { try CachedFeatures(path: dir.appendingPathComponent("missing").path) }
    }
}
