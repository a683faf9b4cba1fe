/// The conventions of the per-frame protocol that differ between the ways of running the fusion models: one value,
/// read by the block assembler, the audio step and the driver, so that a variant changes only this value and the
/// `switch`es on it. `clean` is the contract's reading (`docs/protocol.md`).
public struct ProtocolRules: Sendable, Equatable {
    /// The rule sets a user can choose (`--protocol`).
    public enum Name: String, CaseIterable, Sendable {
        case clean
    }

    /// What a clip ending past the last frame of the video is made of.
    public enum PastEndClips: Sendable, Equatable {
        /// Eight black frames and a silent window (their outputs are discarded; they only fill their sequence).
        case blackAndSilent
    }

    /// The samples under frame f's clip.
    public enum AudioWindows: Sendable, Equatable {
        /// [index(ts[f−31]), index(ts[f])), starting at sample 0 for f < 32 (`Audio/AudioWindow.swift`).
        case thirtyTwoFrames
    }

    /// How the spectrograms of one head batch are brought to a common length before the audio backbone.
    public enum SpectrogramPadding: Sendable, Equatable {
        /// Each spectrogram goes through the audio backbone on its own, at its own length.
        case none
    }

    public let name: Name
    public let pastEndClips: PastEndClips
    public let audioWindows: AudioWindows
    public let spectrogramPadding: SpectrogramPadding
    /// Sequences per head forward pass (and per audio-feature batch): a whole number of 32-sequence blocks.
    public let sequencesPerHeadBatch: Int

    /// The contract's rules: black/silent clips past the end, 32-frame windows from sample 0, no padding across
    /// spectrograms, one block (32 sequences) per head batch.
    public static let clean = ProtocolRules(name: .clean, pastEndClips: .blackAndSilent, audioWindows: .thirtyTwoFrames,
                                            spectrogramPadding: .none, sequencesPerHeadBatch: SequencePlan.sequencesPerBlock)

    public static func named(_ name: Name) -> ProtocolRules {
        switch name {
        case .clean: .clean
        }
    }

    /// How this protocol groups frames into sequences and head batches.
    public var plan: SequencePlan { SequencePlan(sequencesPerHeadBatch: sequencesPerHeadBatch) }
}
