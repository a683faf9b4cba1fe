import Testing
@testable import Pipeline

/// `ClipSampling.officialFrames` against a literal restatement of JCA `datasets/dataset_test.py`,
/// `default_seq_reader`: its `while end < length + 482` loop over sequences, `np.where` on the frame ids of the
/// test csv (every frame 1…length), and the slicing rules (`np.flip(np.flip(x)[::k])[-8:]`, padding by the last).
@Suite struct OfficialClipSamplingTests {
    /// The clips the official reader builds for a video of `length` frames: clip end → frame ids ([] = black).
    static func officialReader(length: Int) -> [Int: [Int]] {
        let frameIDs = Array(1...length)
        var clips: [Int: [Int]] = [:]
        var end = 481, counter = 0
        var start = end - 512
        while end < length + 482 {
            var count = 15
            for i in 0..<16 {
                let lo = start + i * 32 + 1, hi = end - count * 32
                let sub = frameIDs.filter { $0 >= lo && $0 <= hi }      // np.where(frameid >= lo & frameid <= hi)
                var picked: [Int]
                func flipStride(_ k: Int) -> [Int] { Array(stride(from: sub.count - 1, through: 0, by: -k).map { sub[$0] }.reversed()) }
                switch sub.count {
                case 8..<16: picked = Array(sub.suffix(8))
                case 16..<24: picked = Array(flipStride(2).suffix(8))
                case 24..<32: picked = Array(flipStride(3).suffix(8))
                case 32: picked = flipStride(4)
                case 1..<8: picked = sub + Array(repeating: sub.last!, count: 8 - sub.count)
                default: picked = []
                }
                clips[hi] = picked
                count -= 1
            }
            counter += 1
            if counter > 31 { end += 480 + 1; counter = 0 } else { end += 1 }
            start = end - 512
        }
        return clips
    }

    @Test(arguments: [1, 7, 20, 40, 511, 512, 513, 544, 601, 1025])
    func pastEndAndStartClipsFollowTheOfficialReader(length: Int) {
        let official = Self.officialReader(length: length)
        #expect(official.count >= length)
        for (end, frames) in official {
            let ours = ClipSampling.officialFrames(endingAt: end, lastFrame: length)
            let expected: [Int?] = frames.isEmpty ? Array(repeating: nil, count: 8) : frames
            #expect(ours == expected, "length \(length), clip ending on \(end)")
            if end <= length { #expect(ours.compactMap { $0 } == ClipSampling.frames(endingAt: end)) }
        }
    }
}
