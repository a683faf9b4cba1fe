/// How the frames of a video are grouped into the 16-clip sequences the fusion heads take.
///
/// Frames are covered in blocks of 512: for block b and offset k in 0…31, one sequence holds the clips ending at
/// frames 512b + k + 1 + 32j, j = 0…15. Every frame is the end of exactly one clip in exactly one sequence. Clips
/// ending past the video's last frame are black and silent; they still take part in their sequence (the heads are
/// sequence models) but their outputs are discarded.
public enum SequencePlan {
    public static let clipsPerSequence = 16
    public static let sequencesPerBlock = 32
    public static let framesPerBlock = 512

    public struct Sequence: Sendable, Equatable {
        public let block: Int
        public let offset: Int
        /// The 16 clip end frames (1-based), increasing.
        public let clipEnds: [Int]
    }

    /// The sequence of block b, offset k.
    public static func sequence(block b: Int, offset k: Int) -> Sequence {
        let base = framesPerBlock * b + k + 1
        return Sequence(block: b, offset: k, clipEnds: (0..<clipsPerSequence).map { base + 32 * $0 })
    }

    /// Number of blocks needed for a video of `frameCount` frames.
    public static func blockCount(frameCount: Int) -> Int {
        frameCount <= 0 ? 0 : (frameCount + framesPerBlock - 1) / framesPerBlock
    }

    /// The sequences of block b that hold at least one frame of the video.
    public static func sequences(block b: Int, frameCount: Int) -> [Sequence] {
        (0..<sequencesPerBlock).map { sequence(block: b, offset: $0) }.filter { $0.clipEnds[0] <= frameCount }
    }

    /// The sequence and position that frame f (1-based) ends a clip in.
    public static func location(ofFrame f: Int) -> (block: Int, offset: Int, position: Int) {
        let z = f - 1
        let b = z / framesPerBlock
        let r = z % framesPerBlock
        return (b, r % 32, r / 32)
    }
}
