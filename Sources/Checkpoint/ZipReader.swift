import Foundation

/// A reader of the zip archives `torch.save` writes (PyTorch ≥ 1.6 default format).
///
/// PyTorch stores every entry uncompressed (method 0, "stored"), with sizes and CRC in the central directory
/// (the local headers carry zeros and a data descriptor follows the data) and ZIP64 end records. This reader
/// supports exactly that: stored entries, ZIP64 or classic end records, ZIP64 extra fields. Multi-disk archives
/// and entries whose sizes or offsets fall outside the file are errors when the archive is opened; reading a
/// compressed or encrypted entry is an error (other zip files can still be listed, to say what they are).
/// Every entry's CRC-32 is checked when it is read, so a damaged file is an error, not wrong numbers.
public struct ZipReader {
    public struct Entry: Sendable {
        public let name: String
        public let crc32: UInt32
        public let size: Int
        /// 0 = stored; anything else (8 = deflate) cannot be read here.
        public let method: Int
        public let encrypted: Bool
        /// Offset of the entry's bytes in the file.
        public let dataOffset: Int
    }

    public let path: String
    /// Entries in central-directory order.
    public let entries: [Entry]
    private let byName: [String: Int]
    private let bytes: UnsafeRawBufferPointer

    /// Most entries accepted (a torch checkpoint has one per storage plus a few).
    public static let maxEntries = 1_000_000

    public static func looksLikeZip(_ bytes: UnsafeRawBufferPointer) -> Bool {
        bytes.count >= 4 && bytes[0] == 0x50 && bytes[1] == 0x4B && bytes[2] == 0x03 && bytes[3] == 0x04
    }

    /// `bytes` must stay valid (mapped) while the reader is used.
    public init(bytes: UnsafeRawBufferPointer, path: String) throws {
        self.bytes = bytes
        self.path = path
        func fail(_ why: String) -> CheckpointError { CheckpointError("\(path): not a readable torch zip checkpoint: \(why)") }
        func u16(_ o: Int) -> Int { Int(bytes[o]) | Int(bytes[o + 1]) << 8 }
        func u32(_ o: Int) -> UInt32 { (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[o + $1]) << (8 * UInt32($1)) } }
        func u64(_ o: Int) -> UInt64 { (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[o + $1]) << (8 * UInt64($1)) } }
        func int(_ v: UInt64, _ what: String) throws -> Int {
            guard v <= UInt64(bytes.count) else { throw fail("\(what) \(v) lies beyond the file's \(bytes.count) bytes (truncated or corrupt)") }
            return Int(v)
        }

        // End of central directory: 22 bytes plus a comment of up to 65535, searched from the end.
        let n = bytes.count
        guard n >= 22 else { throw fail("file is only \(n) bytes") }
        var eocd = -1
        var o = n - 22
        while o >= max(0, n - 22 - 65535) {
            if bytes[o] == 0x50, bytes[o + 1] == 0x4B, bytes[o + 2] == 0x05, bytes[o + 3] == 0x06, o + 22 + u16(o + 20) == n {
                eocd = o
                break
            }
            o -= 1
        }
        guard eocd >= 0 else { throw fail("no end-of-central-directory record (truncated file?)") }
        guard u16(eocd + 4) == 0, u16(eocd + 6) == 0 else { throw fail("multi-disk archives are not supported") }
        var count = UInt64(u16(eocd + 10))
        var cdSize = UInt64(u32(eocd + 12))
        var cdOffset = UInt64(u32(eocd + 16))
        // ZIP64 locator just before the classic record: use the ZIP64 end record it points to.
        if eocd >= 20, u32(eocd - 20) == 0x0706_4B50 {
            let recOffset = try int(u64(eocd - 20 + 8), "ZIP64 end record offset")
            guard recOffset <= eocd - 20 - 56, u32(recOffset) == 0x0606_4B50 else { throw fail("the ZIP64 end record is missing or misplaced") }
            guard u32(recOffset + 16) == 0, u32(recOffset + 20) == 0 else { throw fail("multi-disk archives are not supported") }
            count = u64(recOffset + 32)
            cdSize = u64(recOffset + 40)
            cdOffset = u64(recOffset + 48)
        } else if count == 0xFFFF || cdSize == 0xFFFF_FFFF || cdOffset == 0xFFFF_FFFF {
            throw fail("the end record needs a ZIP64 record that is missing")
        }
        guard count <= UInt64(Self.maxEntries) else { throw fail("the archive declares \(count) entries (limit \(Self.maxEntries))") }
        let cdStart = try int(cdOffset, "central directory offset")
        let cdLength = try int(cdSize, "central directory size")
        guard cdStart + cdLength <= eocd else { throw fail("the central directory runs past its end record") }
        guard UInt64(cdLength) >= count * 46 else { throw fail("the central directory is too small for \(count) entries") }

        var entries: [Entry] = []
        entries.reserveCapacity(Int(count))
        var byName: [String: Int] = [:]
        var p = cdStart
        let cdEnd = cdStart + cdLength
        for _ in 0..<Int(count) {
            guard p + 46 <= cdEnd, u32(p) == 0x0201_4B50 else { throw fail("central directory entry at byte \(p) is malformed") }
            let flags = u16(p + 8)
            let method = u16(p + 10)
            let crc = u32(p + 16)
            var compressed = UInt64(u32(p + 20))
            var size = UInt64(u32(p + 24))
            let nameLength = u16(p + 28), extraLength = u16(p + 30), commentLength = u16(p + 32)
            let disk = u16(p + 34)
            var localOffset = UInt64(u32(p + 42))
            let end = p + 46 + nameLength + extraLength + commentLength
            guard end <= cdEnd else { throw fail("central directory entry at byte \(p) runs past the directory") }
            let nameBytes = UnsafeRawBufferPointer(rebasing: bytes[(p + 46)..<(p + 46 + nameLength)])
            guard let name = String(validating: nameBytes, as: UTF8.self), !name.isEmpty else {
                throw fail("an entry name is not valid UTF-8")
            }
            // ZIP64 extra field: the 64-bit values, in order, for each classic field that is saturated.
            var e = p + 46 + nameLength
            let extraEnd = e + extraLength
            while e + 4 <= extraEnd {
                let id = u16(e), len = u16(e + 2)
                guard e + 4 + len <= extraEnd else { throw fail("entry \(name) has a malformed extra field") }
                if id == 0x0001 {
                    var q = e + 4
                    func next() throws -> UInt64 {
                        guard q + 8 <= e + 4 + len else { throw fail("entry \(name) has a short ZIP64 extra field") }
                        defer { q += 8 }
                        return u64(q)
                    }
                    if size == 0xFFFF_FFFF { size = try next() }
                    if compressed == 0xFFFF_FFFF { compressed = try next() }
                    if localOffset == 0xFFFF_FFFF { localOffset = try next() }
                }
                e += 4 + len
            }
            guard disk == 0 || disk == 0xFFFF else { throw fail("multi-disk archives are not supported") }
            guard method != 0 || compressed == size else { throw fail("entry \(name) is stored but declares \(compressed) stored and \(size) real bytes") }
            let local = try int(localOffset, "entry \(name)'s offset")
            guard local + 30 <= n, u32(local) == 0x0403_4B50 else { throw fail("entry \(name)'s local header is missing") }
            guard u16(local + 8) == method else { throw fail("entry \(name)'s local header disagrees with the central directory") }
            let localNameLength = u16(local + 26), localExtraLength = u16(local + 28)
            let dataOffset = local + 30 + localNameLength + localExtraLength
            guard dataOffset <= n, localNameLength == nameLength,
                  memcmp(bytes.baseAddress! + local + 30, bytes.baseAddress! + p + 46, nameLength) == 0 else {
                throw fail("entry \(name)'s local header names a different file")
            }
            // Sizes in the local header are zero when a data descriptor follows; otherwise they must agree.
            if flags & 0x0008 == 0 {
                guard UInt64(u32(local + 18)) == compressed || u32(local + 18) == 0xFFFF_FFFF, u32(local + 14) == crc else {
                    throw fail("entry \(name)'s local header disagrees with the central directory")
                }
            }
            let dataSize = try int(compressed, "entry \(name)'s size")
            guard dataSize <= n - dataOffset else { throw fail("entry \(name) declares \(dataSize) bytes, past the end of the file") }
            guard dataOffset + dataSize <= cdStart else { throw fail("entry \(name)'s data overlaps the central directory") }
            guard byName[name] == nil else { throw fail("entry \(name) appears twice") }
            byName[name] = entries.count
            entries.append(Entry(name: name, crc32: crc, size: dataSize, method: method, encrypted: flags & 0x0001 != 0, dataOffset: dataOffset))
            p = end
        }
        self.entries = entries
        self.byName = byName
    }

    public func entry(_ name: String) -> Entry? { byName[name].map { entries[$0] } }

    /// The bytes of an entry, after checking its CRC-32.
    public func data(_ entry: Entry) throws -> UnsafeRawBufferPointer {
        guard !entry.encrypted else { throw CheckpointError("\(path): entry \(entry.name) is encrypted") }
        guard entry.method == 0 else {
            throw CheckpointError("\(path): entry \(entry.name) is compressed (method \(entry.method)); torch.save writes stored entries only — was the file re-zipped? unzip it and re-zip it with `zip -0`")
        }
        let raw = UnsafeRawBufferPointer(rebasing: bytes[entry.dataOffset ..< entry.dataOffset + entry.size])
        let crc = CRC32.checksum(raw)
        guard crc == entry.crc32 else {
            throw CheckpointError("\(path): entry \(entry.name) is damaged (CRC-32 \(String(crc, radix: 16)) instead of \(String(entry.crc32, radix: 16))); download the file again")
        }
        return raw
    }
}

/// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), as zip uses it.
public enum CRC32 {
    static let table: [UInt32] = (0..<256).map { i -> UInt32 in
        var c = UInt32(i)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    public static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        table.withUnsafeBufferPointer { t in
            for b in bytes { c = t[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        }
        return c ^ 0xFFFF_FFFF
    }
}
