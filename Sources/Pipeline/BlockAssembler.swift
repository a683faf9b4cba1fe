import Audio

/// The audio of one clip: a range of the aligned 44.1 kHz track (left-padded with zeros to 45599 samples when
/// shorter, clamped to the samples that exist), or silence.
public enum AudioRequest: Sendable, Equatable {
    case samples(Range<Int>)
    case silence
}

/// The clip that ends on a frame, as it arrives: which frames make it and where its features go.
public struct ClipRequest: Sendable, Equatable {
    /// The frame the clip ends on (1-based).
    public let frame: Int
    /// The 8 frames of the clip, oldest first; nil is a black frame.
    public let frames: [Int?]
    public let audio: AudioRequest
    /// The head batch and the row of its inputs (sequence · 16 + position) that take this clip's features.
    public let batch: Int
    public let row: Int
}

/// A clip that only fills a sequence: it ends past the last frame, and its output is discarded.
public struct PastEndClip: Sendable, Equatable {
    public let row: Int
    /// The frame it would end on.
    public let frame: Int
    public let frames: [Int?]
    public let audio: AudioRequest
}

/// What goes through the head once a head batch is complete (or the input has ended).
public struct HeadBatch: Sendable, Equatable {
    public let index: Int
    /// Sequences that go through the head: a prefix of the batch, short only in a video's last batch.
    public let sequences: Int
    /// Frames of the video known when the batch closed; clips ending after it are past the end.
    public let frameCount: Int
    /// The rows whose clips end past the last frame (only in the last batch), with what fills them.
    public let pastEnd: [PastEndClip]
    /// Rows that take part: `sequences` × 16.
    public var rows: Int { sequences * SequencePlan.clipsPerSequence }
}

/// Decides, frame by frame and without any model, what the backbones and the head must compute: each clip's 8
/// frames, its audio window, its row in the head's input, when a head batch is complete, which clips lie past the
/// end and what fills them. Every convention that differs between protocols is read from `rules`.
public struct BlockAssembler: Sendable {
    public let rules: ProtocolRules
    public let plan: SequencePlan
    public let hasAudio: Bool
    /// Frames given so far.
    public private(set) var frameCount = 0
    /// Sample indices of the last 32 frames' timestamps (slot (f − 1) mod 32 holds frame f's).
    private var recentSamples = [Int](repeating: 0, count: AudioWindow.framesPerWindow)
    /// The official per-frame cuts (`rules.audioWindows == .officialCuts`), from the input's timestamp lines.
    private let officialWindows: OfficialAudioWindows?

    /// `timestamps`: the input's mkvextract-style timestamp lines in milliseconds (frames, then the end-time line),
    /// needed by the official windows; nil otherwise.
    public init(rules: ProtocolRules, hasAudio: Bool, timestamps: [Double]? = nil) {
        self.rules = rules
        self.plan = rules.plan
        self.hasAudio = hasAudio
        self.officialWindows = timestamps.map { OfficialAudioWindows(milliseconds: $0) }
        precondition(rules.audioWindows != .officialCuts || !hasAudio || officialWindows != nil,
                     "the official windows need the input's timestamps")
    }

    /// The next frame, at `time` seconds (frames 1, 2, … in order): its clip, and the head batch it completes.
    public mutating func add(time: Double) throws -> (clip: ClipRequest, completed: HeadBatch?) {
        frameCount += 1
        let f = frameCount
        if hasAudio { recentSamples[(f - 1) % AudioWindow.framesPerWindow] = try AudioWindow.sampleIndex(seconds: time) }
        let slot = plan.slot(ofFrame: f)
        let clip = ClipRequest(frame: f, frames: ClipSampling.frames(endingAt: f), audio: audioWindow(endingAt: f),
                               batch: slot.batch, row: slot.row)
        let complete = f % plan.framesPerHeadBatch == 0
        return (clip, complete ? headBatch(slot.batch) : nil)
    }

    /// The input has ended: the last head batch when it is incomplete (nil when the frames filled whole batches).
    public func finish() -> HeadBatch? {
        guard frameCount % plan.framesPerHeadBatch != 0 else { return nil }
        return headBatch(plan.slot(ofFrame: frameCount).batch)
    }

    private func headBatch(_ index: Int) -> HeadBatch {
        let sequences = plan.sequenceCount(batch: index, frameCount: frameCount)
        var pastEnd: [PastEndClip] = []
        for row in 0..<(sequences * SequencePlan.clipsPerSequence) {
            let end = plan.clipEnd(batch: index, row: row)
            guard end > frameCount else { continue }
            switch rules.pastEndClips {
            case .blackAndSilent:
                pastEnd.append(PastEndClip(row: row, frame: end, frames: Array(repeating: nil, count: ClipSampling.clipLength),
                                           audio: .silence))
            case .framesThatExist:
                // No wav exists past the last timestamp line: the official loader reads 45599 zeros.
                pastEnd.append(PastEndClip(row: row, frame: end, frames: ClipSampling.officialFrames(endingAt: end, lastFrame: frameCount),
                                           audio: .silence))
            }
        }
        return HeadBatch(index: index, sequences: sequences, frameCount: frameCount, pastEnd: pastEnd)
    }

    /// The audio window of the clip ending on frame f (the newest frame given).
    private func audioWindow(endingAt f: Int) -> AudioRequest {
        guard hasAudio else { return .silence }
        switch rules.audioWindows {
        case .thirtyTwoFrames:
            let n = AudioWindow.framesPerWindow
            let start = f < n ? 0 : max(0, recentSamples[(f - n) % n])
            let end = max(start, recentSamples[(f - 1) % n])
            return .samples(start..<end)
        case .officialCuts:
            guard let r = officialWindows?.range(frame: f) else { return .silence }
            return .samples(max(0, r.lowerBound)..<max(0, r.upperBound))
        }
    }
}
