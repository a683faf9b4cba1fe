import Face
import Foundation

/// Whose face a video's rows follow: one subject, or every face track (`--subject all`).
public enum FaceSubjects: Sendable, Equatable, CustomStringConvertible {
    case one(SubjectSelection)
    case all

    /// `all`, or what `SubjectSelection` reads (`primary`, `left`, `right`, a track number).
    public init?(argument: String) {
        if argument.lowercased() == "all" { self = .all; return }
        guard let one = SubjectSelection(argument: argument) else { return nil }
        self = .one(one)
    }

    public var description: String {
        switch self {
        case .one(let s): s.description
        case .all: "all"
        }
    }
}

extension Session {
    /// Runs the protocol once for every face track of a video (`--subject all`): each track's clips come from its
    /// own crops, and the frames where it is absent are black for it — each track's run is exactly a run with
    /// `--subject N` for that track, so its rows are that run's, to the byte. The rows come track after track
    /// (tracks in order of first appearance), each with `track` set.
    ///
    /// A first pass decodes and tracks the video (no backbones) to find the tracks; then each track is one run.
    /// Cost: one face pass, plus per track a decode, a face pass and the backbones; the backbones dominate.
    /// `started(track, tracks)` is called before each track's run.
    public func runEveryTrack(_ path: String, options: InputOptions = InputOptions(), started: ((Int, [Int]) -> Void)? = nil,
                              progress: ((Int) -> Void)? = nil, rowsDone: (() throws -> Void)? = nil,
                              emit: (FrameOutput) throws -> Void) throws -> [(track: Int, summary: RunSummary)] {
        var probeOptions = options
        probeOptions.face.subject = .primary
        let probe = try open(path, options: probeOptions)
        guard let tracker = probe.tracker else {
            throw PipelineError(path, "--subject all is for videos: a crop folder's crops are already one face", remedy: "drop --subject")
        }
        let timings = StageTimings()
        while try probe.frames.next(timings: timings) != nil {}
        let tracks = tracker.seenTracks.map(\.id)
        guard !tracks.isEmpty else {
            throw PipelineError(path, "no face in any frame, so there is no track to run", remedy: "check the video, or run it without --subject all")
        }
        var results: [(track: Int, summary: RunSummary)] = []
        for id in tracks {
            started?(id, tracks)
            var one = options
            one.face.subject = .track(id)
            let input = try open(path, options: one)
            let summary = try run(input, progress: progress, rowsDone: rowsDone) { row in
                try emit(FrameOutput(frame: row.frame, time: row.time, face: row.face, values: row.values, track: id))
            }
            // The input's own warnings (no audio, …) once, with the first track's.
            results.append((id, results.isEmpty ? RunSummary(pipeline: summary.pipeline, timings: summary.timings,
                                                             warnings: input.warnings + summary.warnings, reusedWork: summary.reusedWork) : summary))
        }
        return results
    }
}
