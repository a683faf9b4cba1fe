import Kernels
import Models
import Testing

/// `ClipReuse`: skipping positions whose result is already known must not change a single bit.
@Suite("R(2+1)D-18 reuse of identical work", .serialized)
struct ClipReuseTests {
    static let side = 32   // small frames: the reuse logic does not depend on H, W

    /// Distinct deterministic frames (3 × side × side each), one per key; key -1 is the black frame's normalized value.
    static func frame(_ key: Int) -> [Float] {
        if key < 0 { return [Float](repeating: -1.5, count: 3 * side * side) }
        let t = SyntheticWeights.uniformTensor("test:frame\(key)", shape: [3 * side * side])
        return t.array
    }

    /// Clips (N, 3, 8, side, side) from per-clip frame keys.
    static func clips(_ keys: [[Int]]) -> Tensor {
        let plane = side * side
        let x = Tensor(zeros: [keys.count, 3, 8, side, side])
        for (n, clip) in keys.enumerated() {
            for (t, key) in clip.enumerated() {
                let f = frame(key)
                for c in 0..<3 { for p in 0..<plane { x[(((n * 3 + c) * 8 + t) * plane) + p] = f[c * plane + p] } }
            }
        }
        return x
    }

    /// The pipeline's clips: frame f's clip takes every 4th frame back from f.
    static func slidingKeys(_ ends: ClosedRange<Int>) -> [[Int]] { ends.map { f in (0..<8).map { f - 28 + 4 * $0 } } }

    func run(_ model: R2Plus1D18, _ keys: [[Int]], batch: Int, reuse: ClipReuse?) throws -> Tensor {
        let ws = R2Plus1D18.Workspace()
        let out = Tensor(zeros: [keys.count, 512 * 4])
        var start = 0
        while start < keys.count {
            let n = min(batch, keys.count - start)
            let part = Array(keys[start..<(start + n)])
            let o = try model.forward(Self.clips(part), workspace: ws, threads: 2, frameKeys: reuse == nil ? nil : part.flatMap { $0 }, reuse: reuse)
            (out.pointer + start * 2048).update(from: o.layer4.pointer, count: n * 2048)
            start += n
        }
        return out
    }

    static func bitIdentical(_ a: Tensor, _ b: Tensor) -> Bool { a.count == b.count && (0..<a.count).allSatisfy { a[$0].bitPattern == b[$0].bitPattern } }

    @Test("fp32 and bf16: sliding clips (every 4th frame) equal a run without reuse, to the bit (batches of 4 and 3, stores full)",
          arguments: [(Precision.fp32, 4, 4), (.bf16, 4, 4), (.fp32, 3, 2)])
    func sliding(_ c: (Precision, Int, Int)) throws {
        let (precision, batch, capacity) = c
        let model = precision == .fp32 ? SyntheticTSAV.visual : R2Plus1D18(SyntheticTSAV.visual, precision: precision)
        let keys = Self.slidingKeys(40...53)   // more clips than the stores keep: old positions are replaced
        let plain = try run(model, keys, batch: batch, reuse: nil)
        let reuse = ClipReuse(capacityClips: capacity)
        let reused = try run(model, keys, batch: batch, reuse: reuse)
        #expect(Self.bitIdentical(plain, reused))
        // The second batch reuses the first: 7/8 of stem.0, 5/8 of stem.3 and layer1.0.conv1's spatial part, …
        #expect(reuse.reusedPositions > 0)
        let fraction = reuse.skippedFlops / reuse.totalFlops
        #expect(fraction > 0.05 && fraction < 0.2, "skipped \(fraction) of the work")
    }

    @Test("Repeated and black frames inside clips (a video's start, a face lost) are computed once, results unchanged",
          arguments: [Precision.fp32, .int8])
    func repeats(_ precision: Precision) throws {
        let model = precision == .fp32 ? SyntheticTSAV.visual : R2Plus1D18(SyntheticTSAV.visual, precision: precision)
        // Clip ending on frame 3 (1, 2, 3, 3, 3, 3, 3, 3), a clip with a gap of black frames, an all-black clip.
        let keys = [[1, 2, 3, 3, 3, 3, 3, 3], [5, 9, -1, -1, -1, -1, 25, 29], [Int](repeating: -1, count: 8)]
        let plain = try run(model, keys, batch: 3, reuse: nil)
        let reuse = ClipReuse()
        let reused = try run(model, keys, batch: 3, reuse: reuse)
        #expect(Self.bitIdentical(plain, reused))
        #expect(reuse.reusedPositions > 0)
    }

    @Test("int8 never shares positions between clips (each clip has its own scale): batches give what clips alone give")
    func int8Clips() throws {
        let model = R2Plus1D18(SyntheticTSAV.visual, precision: .int8)
        // Clips 40 and 44 in one batch share 7 frames (16, 20, …, 40); a clip repeated in the batch.
        let keys = Self.slidingKeys(40...44) + Self.slidingKeys(40...40)
        let reuse = ClipReuse()
        let batched = try run(model, keys, batch: 6, reuse: reuse)
        let alone = try run(model, keys, batch: 1, reuse: nil)
        #expect(Self.bitIdentical(batched, alone))
    }
}
