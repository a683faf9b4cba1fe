import Foundation
import Kernels
import Media

/// A failure the user can act on: the file it concerns, what happened, and what to do about it.
/// `description` is the one line a command prints after `emopipe: `: `FILE: what happened (what to do)`.
public struct PipelineError: Error, CustomStringConvertible, Sendable {
    /// The file or folder concerned (nil when none is: e.g. a bad combination of settings).
    public let file: String?
    public let problem: String
    public let remedy: String?

    public init(_ file: String?, _ problem: String, remedy: String? = nil) {
        self.file = file
        self.problem = problem
        self.remedy = remedy
    }

    public var description: String {
        let text = (file.map { "\($0): " } ?? "") + problem + (remedy.map { " (\($0))" } ?? "")
        return OneLine.flatten(text)
    }

    /// The error of a write that failed with `errno` (disk full, closed pipe, …) on `file`: the system's reason and
    /// the fix as every writer gives them (`Kernels.WriteError`), and what a closed descriptor means here.
    public static func writeFailed(_ file: String, errno code: Int32) -> PipelineError {
        let w = WriteError(path: file, errno: code)
        return PipelineError(file, "cannot write (\(w.reason))",
                             remedy: code == EBADF ? "the output is closed; give a file with -o or redirect the output" : w.fix)
    }
}

/// The reader of standard output went away (`emopipe … | head`): not a failure to report, the run just stops.
public struct OutputClosed: Error, CustomStringConvertible, Sendable {
    public init() {}
    public var description: String { "stdout: the reader closed the pipe" }
}

/// One-line messages from any error: what commands print.
public enum OneLine {
    /// A single line describing `error`. Errors of emopipe's modules already name their file; Foundation's errors
    /// are turned into "FILE: reason" (their raw text, "Error Domain=…", never reaches the user).
    public static func message(for error: Error) -> String {
        if let e = error as? PipelineError { return e.description }
        if let e = error as? MediaError { return flatten(e.description + (e.fix == nil ? remedy(for: e.kind) : "")) }
        if let (file, reason) = foundationError(error) { return flatten((file.map { "\($0): " } ?? "") + reason) }
        return flatten(String(describing: error))
    }

    /// What went wrong, without the file: for Foundation's errors only the reason ("Permission denied"), for
    /// the others their whole message.
    public static func reason(for error: Error) -> String {
        foundationError(error).map { flatten($0.reason) } ?? message(for: error)
    }

    /// The file and the reason of a Foundation (Cocoa or POSIX) error; nil for other errors.
    private static func foundationError(_ error: Error) -> (file: String?, reason: String)? {
        let ns = error as NSError
        guard ns.domain == NSCocoaErrorDomain || ns.domain == NSPOSIXErrorDomain else { return nil }
        let file = (ns.userInfo[NSFilePathErrorKey] as? String) ?? (ns.userInfo[NSURLErrorKey] as? URL)?.path
        let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError
        let code = ns.domain == NSPOSIXErrorDomain ? Int32(ns.code) : underlying.flatMap { $0.domain == NSPOSIXErrorDomain ? Int32($0.code) : nil }
        if let code { return (file, String(cString: strerror(code))) }
        let reason: String
        switch CocoaError.Code(rawValue: ns.code) {
        case .fileNoSuchFile, .fileReadNoSuchFile: reason = "no such file or folder"
        case .fileWriteNoPermission, .fileReadNoPermission: reason = "permission denied"
        case .fileWriteOutOfSpace: reason = "no space left on the device"
        case .fileWriteFileExists: reason = "already exists"
        case .fileReadCorruptFile, .fileReadInapplicableStringEncoding: reason = "cannot be read as text"
        default: reason = "the file operation failed (code \(ns.code))"
        }
        return (file, reason)
    }

    /// What to do about a media error that does not say it itself (`MediaError.fix`), in parentheses.
    static func remedy(for kind: MediaError.Kind) -> String {
        switch kind {
        case .notFound: " (check the path)"
        case .notMedia: " (give a video file FFmpeg can read)"
        case .noVideoStream: " (give a file with a video stream)"
        case .unsupportedCodec: " (re-encode it with ffmpeg, e.g. to H.264)"
        case .decodeFailed: " (the file may be damaged; re-encode it with ffmpeg)"
        case .writeFailed: " (choose a place you can write to)"
        case .badSequence: " (a crop folder holds 00001.jpg, 00002.jpg, …)"
        }
    }

    /// Newlines and tabs become spaces: a message is one line.
    public static func flatten(_ s: String) -> String {
        s.split(whereSeparator: { $0 == "\n" || $0 == "\r" || $0 == "\t" }).joined(separator: " ")
    }
}
