import Kernels

/// Work that gives identical results, skipped inside R(2+1)D-18 (exact mode stays byte-identical).
///
/// Up to the end of layer1 (the 56×56 stem and layer1, about 60 % of the network's work), a position (clip, frame) of
/// an activation depends only on the input frames in its temporal receptive field — radius 0 for the stem's 1×7×7,
/// +1 per 3×1×1 convolution — and on which of those lie outside the clip (zero padding). Its *signature* is that
/// window of caller-given frame keys (equal keys = identical normalized frames), padding marked. Two positions with the
/// same signature hold the same numbers to the bit, because every output row of a convolution is computed by the same
/// operations whatever rows are computed with it. So each signature is computed once:
/// - within a batch: the repeated frames at the start of a video (clips of f < 8 repeat frame f), black frames
///   (no face: one key), a clip repeated in the batch;
/// - across batches: clip f + 4 holds frames f−24 … f+4, seven of them in clip f's window shifted by one (clips take
///   every 4th frame), so its interior positions were computed with clip f. Padding-free positions of the last
///   `capacityClips` clips are kept (`ClipReuse` is per-run state) and copied instead of computed: 7/8 of stem.0,
///   5/8 of stem.3 and of layer1.0's first spatial convolution, 3/8 of the next two, 1/8 of the two after.
/// int8 mode scales each clip by its own maximum, so positions of different clips differ there: it shares within a
/// clip only, and keeps nothing across batches.
public final class ClipReuse {
    /// Clips whose padding-free positions are kept per layer for later batches.
    public let capacityClips: Int
    /// Multiply-adds × 2 skipped and done in the convolutions this object has seen (the whole network's convolutions).
    public private(set) var skippedFlops = 0.0, totalFlops = 0.0
    /// Positions (clip, frame) of the reuse zone's convolutions copied instead of computed, and all of them.
    public private(set) var reusedPositions = 0, positions = 0

    public init(capacityClips: Int = 4) { self.capacityClips = max(0, capacityClips) }

    /// Zeroes the counters (the kept positions stay).
    public func resetStatistics() { skippedFlops = 0; totalFlops = 0; reusedPositions = 0; positions = 0 }

    /// Keeps one zone convolution's padding-free positions: slots of one frame's rows each, FIFO.
    final class Store {
        let rowFloats: Int
        let capacity: Int
        let storage: UnsafeMutablePointer<Float>
        var slotOf: [[Int]: Int] = [:]
        var keyOf: [[Int]?]
        var next = 0
        init(rowFloats: Int, capacity: Int) {
            self.rowFloats = rowFloats; self.capacity = capacity
            storage = .allocate(capacity: max(1, rowFloats * capacity))
            keyOf = Array(repeating: nil, count: capacity)
        }
        deinit { storage.deallocate() }
        func slot(_ i: Int) -> UnsafeMutablePointer<Float> { storage + i * rowFloats }
        func put(_ key: [Int], from src: UnsafePointer<Float>) {
            guard capacity > 0, slotOf[key] == nil else { return }
            if let old = keyOf[next] { slotOf[old] = nil }
            slot(next).update(from: src, count: rowFloats)
            keyOf[next] = key; slotOf[key] = next
            next = (next + 1) % capacity
        }
    }
    var stores: [Int: Store] = [:]
    /// The geometry and precision the stores were filled for; anything else clears them.
    var plannedFor: (t: Int, h: Int, w: Int, precision: Precision)?

    func prepare(t: Int, h: Int, w: Int, precision: Precision) {
        if let p = plannedFor, p.t == t, p.h == h, p.w == w, p.precision == precision { return }
        stores = [:]
        plannedFor = (t, h, w, precision)
    }

    func count(skipped: Double, total: Double, reused: Int, of all: Int) {
        skippedFlops += skipped; totalFlops += total; reusedPositions += reused; positions += all
    }
    func countWhole(_ flops: Double) { totalFlops += flops }

    /// Marks a window slot outside the clip (zero padding).
    static let padding = Int.min
}
