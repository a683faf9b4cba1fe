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
    @Test func everyFrameEndsExactlyOneClip() {
        for n in [1, 31, 32, 33, 511, 512, 513, 1500] {
            var seen = [Int](repeating: 0, count: n + 1)
            for b in 0..<SequencePlan.blockCount(frameCount: n) {
                for s in SequencePlan.sequences(block: b, frameCount: n) {
                    #expect(s.clipEnds.count == 16)
                    for (j, e) in s.clipEnds.enumerated() where e <= n {
                        seen[e] += 1
                        let loc = SequencePlan.location(ofFrame: e)
                        #expect(loc.block == s.block && loc.offset == s.offset && loc.position == j)
                    }
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

@Suite struct PostProcessingTests {
    @Test(.enabled(if: TestPaths.parityAvailable)) func smoothingAndCCCMatchTheReference() throws {
        let f = try TestPaths.parityFile("metrics.golden.safetensors")
        let pred = try f.tensor("pred").array.map(Double.init)
        let label = try f.tensor("label").array.map(Double.init)
        let ccc = try f.doubles("ccc")[0]
        #expect(abs(concordanceCorrelation(pred, label) - ccc) < 1e-9)
        for (name, size) in [("smooth20", 20), ("smooth50", 50)] {
            let ref = try f.doubles(name)
            let ours = PostProcessing.smooth(pred, size: size)
            let d = zip(ours, ref).map { abs($0 - $1) }.max()!
            #expect(d < 1e-9, "\(name): \(d)")
        }
    }

    @Test func movingAverageWindowIsAsymmetricLikeScipy() {
        // A unit impulse at i spreads to outputs i-9 … i+10 for size 20 (window offsets -10…+9).
        var x = [Double](repeating: 0, count: 40)
        x[20] = 1
        let y = PostProcessing.movingAverage(x, size: 20)
        let nonzero = y.indices.filter { y[$0] != 0 }
        #expect(nonzero.first == 11 && nonzero.last == 30)
    }
}
