// A small reader for binary PPM (P6) and PGM (P5) images, so the Face tests can load pictures without Media.
import Foundation

struct NetpbmImage {
    let width: Int
    let height: Int
    /// RGB bytes, row-major (PGM is expanded to gray RGB).
    let rgb: [UInt8]

    init(path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else { throw NetpbmError("cannot read \(path)") }
        let bytes = [UInt8](data)
        var pos = 0
        func token() throws -> String {
            // Skip whitespace and comments.
            while pos < bytes.count {
                if bytes[pos] == UInt8(ascii: "#") { while pos < bytes.count && bytes[pos] != 10 { pos += 1 } }
                else if bytes[pos] == 32 || bytes[pos] == 10 || bytes[pos] == 13 || bytes[pos] == 9 { pos += 1 }
                else { break }
            }
            let start = pos
            while pos < bytes.count && !(bytes[pos] == 32 || bytes[pos] == 10 || bytes[pos] == 13 || bytes[pos] == 9) { pos += 1 }
            return String(decoding: bytes[start..<pos], as: UTF8.self)
        }
        let magic = try token()
        guard magic == "P6" || magic == "P5" else { throw NetpbmError("\(path): not a binary PPM/PGM (\(magic))") }
        guard let w = Int(try token()), let h = Int(try token()), let maxv = Int(try token()), maxv == 255 else {
            throw NetpbmError("\(path): bad header")
        }
        pos += 1
        let channels = magic == "P6" ? 3 : 1
        guard bytes.count - pos >= w * h * channels else { throw NetpbmError("\(path): truncated") }
        let body = Array(bytes[pos..<(pos + w * h * channels)])
        width = w
        height = h
        if channels == 3 { rgb = body } else { rgb = body.flatMap { [$0, $0, $0] } }
    }
}

struct NetpbmError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}
