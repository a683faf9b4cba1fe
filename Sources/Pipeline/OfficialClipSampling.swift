extension ClipSampling {
    /// The clip of the official test path for the clip that ends on frame `e` of a video whose last frame is
    /// `lastFrame` (JCA `datasets/dataset_test.py`, `default_seq_reader`): it takes the frames of its 32-frame window
    /// (e − 31 … e) that the video has — all of them inside the video; for a clip ending past the last frame only
    /// those up to `lastFrame` — and applies the rules of `frames(endingAt:)` to them, counting back from the newest
    /// one it has. No frame at all (the window lies wholly past the end): a black clip (nil frames).
    public static func officialFrames(endingAt e: Int, lastFrame: Int) -> [Int?] {
        precondition(e >= 1, "frames are 1-based")
        let newest = min(e, lastFrame), oldest = max(1, e - window + 1)
        guard newest >= oldest else { return [Int?](repeating: nil, count: clipLength) }
        let available = Array(oldest...newest)
        let step: Int
        switch available.count {
        case window: step = 4
        case 24..<window: step = 3
        case 16..<24: step = 2
        case 8..<16: step = 1
        default:
            return available + Array(repeating: newest, count: clipLength - available.count)
        }
        let picked = stride(from: available.count - 1, through: 0, by: -step).map { available[$0] }
        return Array(picked.prefix(clipLength).reversed())
    }
}
