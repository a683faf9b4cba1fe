/// The conventions of the per-frame protocol that differ between the ways of running the fusion models: one value,
/// read by the input, the block assembler, the audio step and the driver, so that a variant changes only this value
/// and the `switch`es on it. `official` reproduces the official repositories' test path, `clean` is the contract's
/// reading (`docs/protocol.md`, "Protocols").
public struct ProtocolRules: Sendable, Equatable {
    /// The rule sets a user can choose (`--protocol`).
    public enum Name: String, CaseIterable, Sendable {
        case official, clean
    }

    /// What a clip ending past the last frame of the video is made of:
    /// - `blackAndSilent`: eight black frames and a silent window (their outputs are discarded; they only fill their
    ///   sequence);
    /// - `framesThatExist`: the frames of its 32-frame window that the video has (`ClipSampling.officialFrames`), black
    ///   when it has none, and the 45599 zeros of a missing wav (JCA `datasets/dataset_test.py`).
    public enum PastEndClips: Sendable, Equatable { case blackAndSilent, framesThatExist }

    /// The samples under frame f's clip:
    /// - `thirtyTwoFrames`: [index(ts[f−31]), index(ts[f])), starting at sample 0 for f < 32
    ///   (`Audio/AudioWindow.swift`);
    /// - `officialCuts`: the official per-frame wavs: `ffmpeg -ss … -to …` cuts at the Matroska timestamps, frame 1
    ///   included (`Audio/OfficialAudioWindow.swift`).
    public enum AudioWindows: Sendable, Equatable { case thirtyTwoFrames, officialCuts }

    /// How the spectrograms of one head batch are brought to a common length before the audio backbone:
    /// - `none`: each spectrogram goes through the audio backbone on its own, at its own length;
    /// - `leftPadToLongest`: left-padded with zeros, in the normalised domain, to the longest spectrogram of the head
    ///   batch (`load_aud_data`, `TestPadSequence`); silent windows are spectrograms of 45599 zeros like any other.
    public enum SpectrogramPadding: Sendable, Equatable { case none, leftPadToLongest }

    /// Where a video's audio and its frames' audio times come from:
    /// - `firstVideoFrame`: sample 0 at the first video frame's timestamp; windows at the decoded frames' own times;
    /// - `mkvmergeRemux`: as `Preprocessing/audio_preprocess.py` prepares it: the ffmpeg wav (16-bit) padded or trimmed
    ///   by SoX by the mkvmerge offset between the first audio and video timestamps; windows at mkvmerge's timestamps
    ///   (`Media/MatroskaTimestamps.swift`).
    public enum AudioOrigin: Sendable, Equatable { case firstVideoFrame, mkvmergeRemux }

    /// Frames the protocol computes:
    /// - `decoded`: the decoded frames (or the crop folder's numbers);
    /// - `withEndTimeLine`: one more: mkvextract's end-time line is read as a frame (black, its wav from the last
    ///   frames' audio). It takes part in the clips, sequences and smoothing of the others; its row is not written (see
    ///   docs).
    public enum FrameCount: Sendable, Equatable { case decoded, withEndTimeLine }

    /// How the JPEGs of a crop folder are decoded:
    /// - `ffmpeg`: FFmpeg's image decoders (`Media.decodeImage`);
    /// - `pil`: libjpeg-turbo as PIL calls it (`Media.decodeJPEGAsPIL`): the official loader's pixels.
    public enum CropDecoding: Sendable, Equatable { case ffmpeg, pil }

    public let name: Name
    public let pastEndClips: PastEndClips
    public let audioWindows: AudioWindows
    public let spectrogramPadding: SpectrogramPadding
    public let audioOrigin: AudioOrigin
    public let frameCount: FrameCount
    public let cropDecoding: CropDecoding
    /// Sequences per head forward pass (and per audio-feature batch): a whole number of 32-sequence blocks.
    public let sequencesPerHeadBatch: Int

    public init(name: Name, pastEndClips: PastEndClips, audioWindows: AudioWindows, spectrogramPadding: SpectrogramPadding,
                audioOrigin: AudioOrigin, frameCount: FrameCount, cropDecoding: CropDecoding, sequencesPerHeadBatch: Int) {
        self.name = name; self.pastEndClips = pastEndClips; self.audioWindows = audioWindows
        self.spectrogramPadding = spectrogramPadding; self.audioOrigin = audioOrigin; self.frameCount = frameCount
        self.cropDecoding = cropDecoding; self.sequencesPerHeadBatch = sequencesPerHeadBatch
    }

    /// The contract's rules: black/silent clips past the end, 32-frame windows from sample 0 at the first frame, no
    /// padding across spectrograms, the decoded frames, one block (32 sequences) per head batch.
    public static let clean = ProtocolRules(name: .clean, pastEndClips: .blackAndSilent, audioWindows: .thirtyTwoFrames,
                                            spectrogramPadding: .none, audioOrigin: .firstVideoFrame, frameCount: .decoded,
                                            cropDecoding: .ffmpeg, sequencesPerHeadBatch: SequencePlan.sequencesPerBlock)

    /// The official test path (JCA / RJCA / DCA: `Preprocessing/audio_preprocess.py`, `datasets/dataset_test.py`,
    /// `main.py` `TestPadSequence` with batches of 64 sequences, `test.py`), for one video's batches.
    public static let official = ProtocolRules(name: .official, pastEndClips: .framesThatExist, audioWindows: .officialCuts,
                                               spectrogramPadding: .leftPadToLongest, audioOrigin: .mkvmergeRemux,
                                               frameCount: .withEndTimeLine, cropDecoding: .pil,
                                               sequencesPerHeadBatch: 2 * SequencePlan.sequencesPerBlock)

    public static func named(_ name: Name) -> ProtocolRules {
        switch name {
        case .official: .official
        case .clean: .clean
        }
    }

    /// How this protocol groups frames into sequences and head batches.
    public var plan: SequencePlan { SequencePlan(sequencesPerHeadBatch: sequencesPerHeadBatch) }
}
