/// How the frames of a video are grouped into the 16-clip sequences the fusion heads take, and the sequences into
/// the batches the head runs on. The one place that knows 512, 32 and 16.
///
/// Frames are covered in blocks of 512: for block b and offset k in 0…31, one sequence holds the clips ending at
/// frames 512b + k + 1 + 32j, j = 0…15. Every frame is the end of exactly one clip in exactly one sequence. Clips
/// ending past the video's last frame still take part in their sequence (the heads are sequence models) but their
/// outputs are discarded. A head batch is a whole number of blocks (`ProtocolRules.sequencesPerHeadBatch`); in the
/// head's input its sequences follow block by block, offset by offset, and row `sequence · 16 + j` holds clip j.
public struct SequencePlan: Sendable, Equatable {
    public static let clipsPerSequence = 16
    public static let sequencesPerBlock = 32
    public static let framesPerBlock = clipsPerSequence * sequencesPerBlock

    /// Sequences per head batch (a multiple of `sequencesPerBlock`).
    public let sequencesPerHeadBatch: Int

    public init(sequencesPerHeadBatch: Int) {
        precondition(sequencesPerHeadBatch >= Self.sequencesPerBlock && sequencesPerHeadBatch % Self.sequencesPerBlock == 0,
                     "a head batch is a whole number of blocks")
        self.sequencesPerHeadBatch = sequencesPerHeadBatch
    }

    public var blocksPerHeadBatch: Int { sequencesPerHeadBatch / Self.sequencesPerBlock }
    public var framesPerHeadBatch: Int { blocksPerHeadBatch * Self.framesPerBlock }
    /// Rows of a head batch's inputs: sequences × clips.
    public var rowsPerHeadBatch: Int { sequencesPerHeadBatch * Self.clipsPerSequence }

    /// Where the clip ending on frame f (1-based) goes: its head batch and its row there (sequence · 16 + position).
    public func slot(ofFrame f: Int) -> (batch: Int, row: Int) {
        let z = f - 1
        let (batch, inBatch) = z.quotientAndRemainder(dividingBy: framesPerHeadBatch)
        let (block, r) = inBatch.quotientAndRemainder(dividingBy: Self.framesPerBlock)
        let sequence = block * Self.sequencesPerBlock + r % Self.sequencesPerBlock
        return (batch, sequence * Self.clipsPerSequence + r / Self.sequencesPerBlock)
    }

    /// The frame whose clip sits in `row` of head batch `batch` (it may lie past the end of the video).
    public func clipEnd(batch: Int, row: Int) -> Int {
        let (sequence, position) = row.quotientAndRemainder(dividingBy: Self.clipsPerSequence)
        let (block, offset) = sequence.quotientAndRemainder(dividingBy: Self.sequencesPerBlock)
        return Self.sequence(block: batch * blocksPerHeadBatch + block, offset: offset).clipEnds[position]
    }

    /// Sequences of head batch `batch` that hold at least one frame of a video of `frameCount` frames: a prefix of
    /// the batch, since a sequence's first clip end grows with its index.
    public func sequenceCount(batch: Int, frameCount: Int) -> Int {
        var n = 0
        while n < sequencesPerHeadBatch && clipEnd(batch: batch, row: n * Self.clipsPerSequence) <= frameCount { n += 1 }
        return n
    }

    public struct Sequence: Sendable, Equatable {
        public let block: Int
        public let offset: Int
        /// The 16 clip end frames (1-based), increasing.
        public let clipEnds: [Int]
    }

    /// The sequence of block b, offset k.
    public static func sequence(block b: Int, offset k: Int) -> Sequence {
        let base = framesPerBlock * b + k + 1
        return Sequence(block: b, offset: k, clipEnds: (0..<clipsPerSequence).map { base + sequencesPerBlock * $0 })
    }
}
