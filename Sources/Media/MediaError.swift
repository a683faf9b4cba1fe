import CFFmpeg

/// What went wrong with an input, always naming the file. `description` is the one-line message users see.
public struct MediaError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable, Equatable {
        case notFound, notMedia, noVideoStream, unsupportedCodec, decodeFailed, writeFailed, badSequence
    }
    public let kind: Kind
    public let path: String
    public let detail: String

    /// What to do about it, when there is something to do.
    public let fix: String?

    public init(_ kind: Kind, _ path: String, _ detail: String, fix: String? = nil) {
        self.kind = kind; self.path = path; self.detail = detail; self.fix = fix
    }

    /// `FILE: what happened (what to do)`.
    public var description: String { "\(path): \(detail)" + (fix.map { " (\($0))" } ?? "") }
}

/// FFmpeg's text for an error code (av_err2str).
func ffmpegErrorString(_ code: Int32) -> String {
    var buf = [CChar](repeating: 0, count: 256)
    _ = cff_err2str(code, &buf, buf.count)
    return String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// FFmpeg logs nothing on its own; emopipe reports problems itself, one line per problem.
enum FFmpegLogging {
    nonisolated(unsafe) private static var configured = false
    static func quiet() {
        if !configured { av_log_set_level(AV_LOG_QUIET); configured = true }
    }
}
