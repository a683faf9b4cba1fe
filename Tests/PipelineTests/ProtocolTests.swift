import Foundation
import Testing
import Kernels
import Pipeline
import TestSupport

@Suite struct ClipSamplingTests {
    @Test func fullWindowTakesEveryFourthFrame() {
        #expect(ClipSampling.frames(endingAt: 32) == [4, 8, 12, 16, 20, 24, 28, 32])
        #expect(ClipSampling.frames(endingAt: 100) == [72, 76, 80, 84, 88, 92, 96, 100])
    }

    @Test func startOfVideoFollowsTheReferenceRules() {
        #expect(ClipSampling.frames(endingAt: 1) == [1, 1, 1, 1, 1, 1, 1, 1])
        #expect(ClipSampling.frames(endingAt: 5) == [1, 2, 3, 4, 5, 5, 5, 5])
        #expect(ClipSampling.frames(endingAt: 8) == [1, 2, 3, 4, 5, 6, 7, 8])
        #expect(ClipSampling.frames(endingAt: 15) == [8, 9, 10, 11, 12, 13, 14, 15])
        #expect(ClipSampling.frames(endingAt: 16) == [2, 4, 6, 8, 10, 12, 14, 16])
        #expect(ClipSampling.frames(endingAt: 17) == [3, 5, 7, 9, 11, 13, 15, 17])
        #expect(ClipSampling.frames(endingAt: 24) == [3, 6, 9, 12, 15, 18, 21, 24])
        #expect(ClipSampling.frames(endingAt: 31) == [10, 13, 16, 19, 22, 25, 28, 31])
    }

    /// An independent statement of the rule: numpy-style flip(flip(idx)[::s])[-8:] over the available indices.
    @Test func agreesWithSliceFormulationEverywhere() {
        for f in 1...200 {
            let n = min(f, 32)
            let idx = Array((f - n + 1)...f)
            var expected: [Int]
            if n == 32 { expected = Array(idx.reversed().enumerated().filter { $0.offset % 4 == 0 }.map(\.element).reversed()) }
            else if n >= 24 { expected = Array(idx.reversed().enumerated().filter { $0.offset % 3 == 0 }.map(\.element).reversed().suffix(8)) }
            else if n >= 16 { expected = Array(idx.reversed().enumerated().filter { $0.offset % 2 == 0 }.map(\.element).reversed().suffix(8)) }
            else if n >= 8 { expected = Array(idx.suffix(8)) }
            else { expected = idx + Array(repeating: idx.last!, count: 8 - n) }
            #expect(ClipSampling.frames(endingAt: f) == expected, "f = \(f)")
        }
    }
}

@Suite struct SequencePlanTests {
    /// The sequences that go through the head (a prefix of each batch) cover every frame's clip exactly once, at the
    /// row `slot(ofFrame:)` gives it, for head batches of one and of two blocks.
    @Test(arguments: [32, 64]) func everyFrameEndsExactlyOneClip(sequencesPerBatch: Int) {
        let plan = SequencePlan(sequencesPerHeadBatch: sequencesPerBatch)
        for n in [1, 31, 32, 33, 511, 512, 513, 1500] {
            var seen = [Int](repeating: 0, count: n + 1)
            for b in 0...((n - 1) / plan.framesPerHeadBatch) {
                for row in 0..<(plan.sequenceCount(batch: b, frameCount: n) * 16) {
                    let e = plan.clipEnd(batch: b, row: row)
                    guard e <= n else { continue }
                    seen[e] += 1
                    #expect(plan.slot(ofFrame: e) == (b, row))
                }
            }
            #expect(seen.dropFirst().allSatisfy { $0 == 1 }, "n = \(n)")
        }
    }

    @Test func matchesTheReferenceEnumeration() {
        // Reference loop: end starts at 481, +1 for 32 sequences, then +481; clip ends are end - 32·count, count 15…0.
        var end = 481, counter = 0
        for b in 0..<3 {
            for k in 0..<32 {
                let ends = (0..<16).map { end - 32 * (15 - $0) }
                #expect(SequencePlan.sequence(block: b, offset: k).clipEnds == ends)
                counter += 1
                if counter > 31 { end += 481; counter = 0 } else { end += 1 }
            }
        }
    }
}

@Suite struct HeadBatchLayoutTests {
    /// Rows follow block, offset, position: frame f = 512·block + 32·position + offset + 1.
    @Test(arguments: [32, 64]) func everyFrameHasOneRowInItsBatch(sequences: Int) {
        let plan = SequencePlan(sequencesPerHeadBatch: sequences)
        var seen = Set<[Int]>()
        for f in 1...(3 * plan.framesPerHeadBatch) {
            let (batch, row) = plan.slot(ofFrame: f)
            #expect(plan.clipEnd(batch: batch, row: row) == f)
            let (block, r) = (f - 1).quotientAndRemainder(dividingBy: 512)
            #expect(batch == block / plan.blocksPerHeadBatch)
            #expect(row == ((block % plan.blocksPerHeadBatch) * 32 + r % 32) * 16 + r / 32)
            #expect(seen.insert([batch, row]).inserted)
        }
    }

    @Test func sequenceCountIsThePrefixHoldingFrames() {
        let plan = ProtocolRules.clean.plan
        #expect(plan.sequenceCount(batch: 0, frameCount: 1) == 1)
        #expect(plan.sequenceCount(batch: 0, frameCount: 31) == 31)
        #expect(plan.sequenceCount(batch: 0, frameCount: 40) == 32)
        #expect(plan.sequenceCount(batch: 1, frameCount: 520) == 8)
        // A sequence takes part when its first clip ends inside the video: min(32, frames of the block).
        for n in [1, 7, 33, 511, 512, 600, 1500] {
            for b in 0...((n - 1) / 512) {
                #expect(plan.sequenceCount(batch: b, frameCount: n) == min(32, n - 512 * b))
            }
        }
    }
}

@Suite struct PostProcessingTests {
    /// The streaming smoother's rows: `values` as raw outputs, every row emitted once, in order.
    static func smoothedRows(_ valence: [Double], _ arousal: [Double], chunk: Int) -> [FrameOutput] {
        var smoother = RowSmoother(smoothing: true)
        var rows: [FrameOutput] = []
        var known = 0
        while known < valence.count {
            let next = min(valence.count, known + chunk)
            for f in (known + 1)...next { smoother.add(time: Double(f), face: true); smoother.set(frame: f, valence: valence[f - 1], arousal: arousal[f - 1]) }
            known = next
            smoother.emitReady(known: known, final: false) { rows.append($0) }
        }
        smoother.emitReady(known: known, final: true) { rows.append($0) }
        return rows
    }

    @Test(.enabled(if: TestPaths.parityAvailable)) func smoothingAndCCCMatchTheReference() throws {
        let f = try TestPaths.parityFile("metrics.golden.safetensors")
        let pred = try f.tensor("pred").array.map(Double.init)
        let label = try f.tensor("label").array.map(Double.init)
        let ccc = try f.doubles("ccc")[0]
        #expect(abs(concordanceCorrelation(pred, label) - ccc) < 1e-9)
        // Valence is smoothed over 20 frames, arousal over 50: the same series in both slots gives both references.
        for chunk in [1, 37, 512, pred.count] {
            let rows = Self.smoothedRows(pred, pred, chunk: chunk)
            #expect(rows.map(\.frame) == Array(1...pred.count))
            for (name, values) in [("smooth20", rows.map(\.valence)), ("smooth50", rows.map(\.arousal))] {
                let ref = try f.doubles(name)
                let d = zip(values, ref).map { abs($0 - $1) }.max()!
                #expect(d < 1e-9, "\(name), chunks of \(chunk): \(d)")
            }
        }
    }

    @Test func movingAverageWindowIsAsymmetricLikeScipy() {
        // A unit impulse at frame 21 spreads to frames 12 … 31 for size 20 (window offsets -10…+9) and 22 frames
        // either side for 50 (-25…+24): frames -3 … 46 clipped to the video.
        var x = [Double](repeating: 0, count: 60)
        x[20] = 1
        let rows = Self.smoothedRows(x, x, chunk: 7)
        let v = rows.filter { $0.valence != 0 }.map(\.frame), a = rows.filter { $0.arousal != 0 }.map(\.frame)
        #expect(v.first == 12 && v.last == 31 && v.count == 20)
        #expect(a.first == 1 && a.last == 46)
        #expect(rows.allSatisfy { $0.valence == ($0.valence != 0 ? 1.0 / 20 : 0) })
    }

    @Test func rawRowsAreClippedAndComeAsSoonAsKnown() {
        var smoother = RowSmoother(smoothing: false)
        var rows: [FrameOutput] = []
        for (f, v) in [2.5, -0.25, -3.0].enumerated() {
            smoother.add(time: 0.1 * Double(f), face: f != 1)
            smoother.set(frame: f + 1, valence: v, arousal: -v)
            smoother.emitReady(known: f + 1, final: false) { rows.append($0) }
            #expect(rows.count == f + 1)
        }
        #expect(rows.map(\.valence) == [1, -0.25, -1] && rows.map(\.arousal) == [-1, 0.25, 1])
        #expect(rows.map(\.face) == [true, false, true])
    }
}
