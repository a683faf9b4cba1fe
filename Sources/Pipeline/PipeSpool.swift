import Foundation
import Kernels
import Media

/// A piped video input (`-`, standard input, or a FIFO) copied to a temporary file, for a protocol that must read the
/// input more than once: the official preparation reads the container's timestamps before any frame, as mkvmerge
/// does, then the frames, then the audio. The file is removed when the spool goes away, and on SIGINT/SIGTERM/SIGHUP
/// (`TemporaryFiles`).
final class PipeSpool {
    let path: String
    private let slot: Int?

    /// nil when `input` is a regular file (read it directly).
    static func ifNeeded(_ input: String) throws -> PipeSpool? {
        if input != "-" {
            var st = stat()
            guard stat(input, &st) == 0, (st.st_mode & S_IFMT) != S_IFREG else { return nil }
        }
        return try PipeSpool(copying: input)
    }

    private init(copying input: String) throws {
        let dir = ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        var template = Array((dir as NSString).appendingPathComponent(".emopipe-input.tmp-\(getpid())-XXXXXX").utf8CString)
        let out = mkstemp(&template)
        guard out >= 0 else {
            throw PipelineError(input, "cannot create a temporary copy in \(dir): \(String(cString: strerror(errno)))",
                                remedy: "set TMPDIR to a writable folder, or use --protocol clean, which reads a pipe once")
        }
        path = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        slot = TemporaryFiles.register(path)
        let source = input == "-" ? STDIN_FILENO : open(input, O_RDONLY)
        defer { close(out); if source != STDIN_FILENO && source >= 0 { close(source) } }
        do {
            guard source >= 0 else {
                throw PipelineError(input, "cannot be opened: \(String(cString: strerror(errno)))", remedy: "check the path")
            }
            let size = 1 << 20
            let buffer = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 16)
            defer { buffer.deallocate() }
            while true {
                let n = read(source, buffer, size)
                if n == 0 { break }
                if n < 0 {
                    if errno == EINTR { continue }
                    throw PipelineError(input, "cannot be read: \(String(cString: strerror(errno)))", remedy: "check what writes to it")
                }
                if let code = writeAll(out, UnsafeRawBufferPointer(start: buffer, count: n)) {
                    throw PipelineError(input, "cannot be copied to \(dir): \(String(cString: strerror(code)))",
                                        remedy: "free space there or set TMPDIR to a larger folder, or use --protocol clean, which reads a pipe once")
                }
            }
        } catch {
            unlink(path)
            TemporaryFiles.unregister(slot)
            throw error
        }
    }

    deinit {
        unlink(path)
        TemporaryFiles.unregister(slot)
    }
}
