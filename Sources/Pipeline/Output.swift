import Foundation
import Kernels

/// Where bytes go: standard output or an output file. Every write either completes or throws an error naming the
/// destination; nothing traps.
public protocol ByteSink: AnyObject {
    func write(_ bytes: UnsafeRawBufferPointer) throws
}

extension ByteSink {
    public func write(_ text: String) throws {
        var t = text
        try t.withUTF8 { try write(UnsafeRawBufferPointer($0)) }
    }
}

/// Standard output. A reader that went away (EPIPE: `emopipe … | head`) ends the run quietly (`OutputClosed`);
/// any other failure (a full disk, a closed descriptor) is an error.
public final class StandardOutput: ByteSink, Sendable {
    public static let shared = StandardOutput()

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard let code = writeAll(STDOUT_FILENO, bytes) else { return }
        if code == EPIPE { throw OutputClosed() }
        throw PipelineError.writeFailed("stdout", errno: code)
    }
}

/// An output file written completely or not at all.
///
/// - A regular file (or a new one) is written to `.NAME.tmp-PID` beside it and renamed over it by `commit`; on
///   failure, `abandon` or a signal the temporary file is removed and the old file is untouched. A symbolic link is
///   followed: the file it points to is replaced (atomically, in its own folder) and the link stays.
/// - A FIFO or a character device (`/dev/null`, a terminal, `/dev/stdout`) cannot be replaced: it is written
///   directly, as the rows come.
/// - A folder, a socket or a block device is refused, and so is a file that is one of the run's inputs.
public final class OutputFile: ByteSink {
    /// The path as given, and the file the bytes end up in (the target of a symbolic link).
    public let path: String
    public let target: String
    /// The temporary file, nil when writing directly.
    public let temporary: String?
    private var fd: Int32
    /// Registration for removal on signals, and whether the temporary file is still ours to remove.
    private var slot: Int?
    private var ownsTemporary = false
    private var closed = false

    public init(path: String, protecting inputs: [String] = []) throws {
        self.path = path
        var st = stat()
        let exists = stat(path, &st) == 0
        if exists {
            for input in inputs {
                var s = stat()
                if stat(input, &s) == 0 && s.st_dev == st.st_dev && s.st_ino == st.st_ino {
                    throw PipelineError(path, "is the input \(input)", remedy: "choose another output file")
                }
            }
        }
        let kind = exists ? st.st_mode & S_IFMT : S_IFREG
        switch kind {
        case S_IFREG:
            target = exists ? (Self.realPath(path) ?? path) : Self.followLinks(path)
            let tmp = TemporaryFiles.path(for: target)
            slot = TemporaryFiles.register(tmp)
            fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o666)
            guard fd >= 0 else {
                let code = errno
                TemporaryFiles.unregister(slot)
                throw Self.cannotCreate(path, errno: code)
            }
            if exists { fchmod(fd, st.st_mode & 0o7777) }   // the replacement keeps the old file's permissions
            temporary = tmp
            ownsTemporary = true
        case S_IFIFO, S_IFCHR:
            target = path
            temporary = nil
            // A FIFO nobody reads would block the open: refuse it instead of hanging.
            fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC)
            guard fd >= 0 else {
                let code = errno
                if code == ENXIO { throw PipelineError(path, "nobody reads this FIFO", remedy: "start its reader first") }
                throw Self.cannotCreate(path, errno: code)
            }
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
        case S_IFDIR:
            throw PipelineError(path, "is a folder", remedy: "give a file name")
        default:
            throw PipelineError(path, "is a socket or a block device, which emopipe does not write to",
                                remedy: "give a regular file, a FIFO or a character device")
        }
    }

    deinit { abandon() }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        precondition(!closed, "write after commit or abandon")
        if let code = writeAll(fd, bytes) { throw PipelineError.writeFailed(path, errno: code) }
    }

    /// Closes the file and, for a regular file, moves it into place.
    public func commit() throws {
        try close()
        try moveIntoPlace()
    }

    /// Commits several files together: all are written out first, then moved into place; if a move fails, the
    /// files already moved are removed, so that either all of them are new or none is there.
    public static func commit(together files: [OutputFile]) throws {
        do { for f in files { try f.close() } } catch {
            for f in files { f.abandon() }
            throw error
        }
        var moved: [OutputFile] = []
        for f in files {
            do {
                try f.moveIntoPlace()
                moved.append(f)
            } catch {
                for m in moved where m.temporary != nil { unlink(m.target) }   // never a device or FIFO
                for f in files { f.abandon() }
                throw error
            }
        }
    }

    /// Drops what was written: the temporary file is removed; an existing file is left as it was.
    public func abandon() {
        if !closed { Foundation.close(fd); closed = true }
        if let temporary, ownsTemporary { unlink(temporary) }
        ownsTemporary = false
        TemporaryFiles.unregister(slot)
        slot = nil
    }

    private func close() throws {
        guard !closed else { return }
        closed = true
        if Foundation.close(fd) != 0 && errno != EINTR { throw PipelineError.writeFailed(path, errno: errno) }
    }

    private func moveIntoPlace() throws {
        guard let temporary, ownsTemporary else { return }
        if rename(temporary, target) != 0 {
            let code = errno
            abandon()
            throw PipelineError(path, "cannot be replaced (\(String(cString: strerror(code))))", remedy: "check the folder's permissions")
        }
        ownsTemporary = false
        TemporaryFiles.unregister(slot)
        slot = nil
    }

    private static func cannotCreate(_ path: String, errno code: Int32) -> PipelineError {
        switch code {
        case ENOENT: PipelineError(path, "cannot be created: its folder does not exist", remedy: "create the folder first")
        case EACCES, EPERM, EROFS: PipelineError(path, "cannot be created (\(String(cString: strerror(code))))",
                                                 remedy: "choose a folder you can write to")
        default: PipelineError(path, "cannot be created (\(String(cString: strerror(code))))", remedy: "check the path")
        }
    }

    private static func realPath(_ path: String) -> String? {
        guard let p = realpath(path, nil) else { return nil }
        defer { free(p) }
        return String(cString: p)
    }

    /// Where a path that does not exist yet will be created: through any symbolic links (a dangling link is
    /// written through to its target).
    private static func followLinks(_ path: String) -> String {
        var p = path
        for _ in 0..<40 {
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let n = readlink(p, &buffer, buffer.count - 1)
            guard n > 0 else { return p }
            let link = String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            p = link.hasPrefix("/") ? link : ((p as NSString).deletingLastPathComponent as NSString).appendingPathComponent(link)
        }
        return p
    }
}

/// Text written through a buffer: lines are collected and written in chunks of about 64 KB.
public final class BufferedText {
    public let sink: ByteSink
    private var buffer: [UInt8] = []

    public init(_ sink: ByteSink) {
        self.sink = sink
        buffer.reserveCapacity(1 << 16 + 256)
    }

    public func append(_ text: String) throws {
        buffer.append(contentsOf: text.utf8)
        if buffer.count >= 1 << 16 { try flush() }
    }

    public func flush() throws {
        guard !buffer.isEmpty else { return }
        try buffer.withUnsafeBytes { try sink.write($0) }
        buffer.removeAll(keepingCapacity: true)
    }
}

/// Rows in an output format, header first.
public final class RowWriter {
    public let format: OutputFormat
    private let text: BufferedText

    public init(format: OutputFormat, sink: ByteSink) throws {
        self.format = format
        self.text = BufferedText(sink)
        if let header = format.header { try text.append(header + "\n") }
    }

    public func write(_ row: FrameOutput) throws { try text.append(format.line(row) + "\n") }

    public func flush() throws { try text.flush() }
}
