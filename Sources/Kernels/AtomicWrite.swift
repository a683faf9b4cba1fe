import Foundation

/// A file that could not be written, in one line: `FILE: cannot write: REASON (what to do)`.
public struct WriteError: Error, CustomStringConvertible, Sendable {
    public let path: String
    /// The system's reason (strerror), e.g. "No space left on device".
    public let reason: String
    public let fix: String
    public let code: Int32

    public init(path: String, errno code: Int32) {
        self.path = path
        self.code = code
        reason = String(cString: strerror(code))
        switch code {
        case ENOSPC, EDQUOT, EFBIG: fix = "free some space, or write somewhere else"
        case EACCES, EPERM, EROFS: fix = "choose a place you can write to"
        case ENOENT, ENOTDIR: fix = "create its folder first, or write somewhere else"
        case EISDIR: fix = "give a file name, not a folder"
        default: fix = "check the disk and the destination, then try again"
        }
    }

    public var description: String { "\(path): cannot write: \(reason) (\(fix))" }
}

/// Writes `bytes` to a temporary file beside `path` (same folder, so the rename cannot cross file systems), then
/// renames it into place: a failure leaves neither a partial file nor the temporary one. Errors are `WriteError`s
/// with the system's reason (no Foundation error text).
public func writeAtomically<Bytes: ContiguousBytes>(_ bytes: Bytes, to path: String) throws {
    let url = URL(fileURLWithPath: path)
    let tmp = url.deletingLastPathComponent()
        .appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
    let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
    guard fd >= 0 else { throw WriteError(path: path, errno: errno) }
    var failure = bytes.withUnsafeBytes { writeAll(fd, $0) } ?? 0
    if close(fd) != 0 && failure == 0 { failure = errno }
    if failure == 0 && rename(tmp, path) != 0 { failure = errno }
    guard failure == 0 else {
        unlink(tmp)
        throw WriteError(path: path, errno: failure)
    }
}

/// Writes all of `bytes` to `fd`, retrying partial writes and interruptions; returns errno on failure.
public func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Int32? {
    var offset = 0
    while offset < bytes.count {
        let n = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
        if n < 0 {
            if errno == EINTR { continue }
            return errno
        }
        offset += n
    }
    return nil
}
