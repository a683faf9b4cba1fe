import Foundation
import Kernels

/// A file written by `torch.save`, read without Python: the unpickled object plus its tensor storages.
///
/// Two formats exist:
/// - **zip** (PyTorch ≥ 1.6 default): `<name>/data.pkl` is the object pickle; each storage is the entry
///   `<name>/data/<key>`; persistent ids are `('storage', torch.XStorage, key, location, numel)`.
/// - **legacy** (`_use_new_zipfile_serialization=False`, and everything PyTorch ≤ 1.5 wrote): five things in a
///   row — the magic number 0x1950a86a20f9469cfc6c pickled, the protocol version (1001) pickled, a `sys_info`
///   dict pickled, the object pickle (persistent ids `('storage', type, key, location, numel, view_metadata)`),
///   the pickled list of storage keys, then for each key in that order an int64 element count and the raw
///   little-endian elements.
public final class TorchCheckpoint {
    public enum Format: String, Sendable { case zip = "pytorch-zip", legacy = "pytorch-legacy" }

    /// A tensor copied out of its storage into row-major, contiguous little-endian bytes.
    public struct Materialized: Sendable, Equatable {
        public let dtype: StorageDType
        public let shape: [Int]
        public let bytes: [UInt8]
    }

    public let path: String
    public let format: Format
    /// The object `torch.load` would return, as plain data.
    public let root: PickleValue
    /// The file's SHA-256, hex.
    public let sha256: String
    public let fileSize: Int
    /// Owns every container in `root` (see `PickleArena`).
    public let arena = PickleArena()

    private let data: Data
    /// Storage key → where its elements are in `data`, with the declared type and count.
    private var storages: [String: (range: Range<Int>, ref: StorageRef)] = [:]
    /// Materialized bytes so far, against `maxOutputBytes`.
    private var outputBytes = 0
    /// Limit on the bytes of all tensors materialized from this file (stride-0 views could expand a tiny file).
    public var maxOutputBytes: Int

    static let legacyMagic: [UInt8] = [0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19]  // 0x1950a86a20f9469cfc6c, little-endian
    static let legacyProtocolVersion: Int64 = 1001

    public convenience init(path: String, limits: PickleLimits = PickleLimits()) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else {
            throw CheckpointError("\(path): no such file")
        }
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) } catch {
            throw CheckpointError("\(path): cannot read (\(error.localizedDescription))")
        }
        try self.init(data: data, path: path, limits: limits)
    }

    public init(data: Data, path: String, limits: PickleLimits = PickleLimits()) throws {
        self.data = data
        self.path = path
        self.fileSize = data.count
        self.maxOutputBytes = 4 * data.count + (64 << 20)
        var storages: [String: (range: Range<Int>, ref: StorageRef)] = [:]
        let arena = self.arena
        let (format, root, sha) = try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> (Format, PickleValue, String) in
            // Parsed first, hashed after: a file that is not a checkpoint at all fails without being read whole.
            if ZipReader.looksLikeZip(raw) {
                let root = try Self.readZip(raw, path: path, limits: limits, arena: arena, storages: &storages)
                return (.zip, root, SHA256.hex(raw))
            }
            let root = try Self.readLegacy(raw, path: path, limits: limits, arena: arena, storages: &storages)
            return (.legacy, root, SHA256.hex(raw))
        }
        self.format = format
        self.root = root
        self.sha256 = sha
        self.storages = storages
    }

    // MARK: zip

    private static func readZip(_ raw: UnsafeRawBufferPointer, path: String, limits: PickleLimits, arena: PickleArena,
                                storages: inout [String: (range: Range<Int>, ref: StorageRef)]) throws -> PickleValue {
        let zip = try ZipReader(bytes: raw, path: path)
        let pickles = zip.entries.filter { e in
            let parts = e.name.split(separator: "/", omittingEmptySubsequences: false)
            return parts.count == 2 && parts[1] == "data.pkl" && !parts[0].isEmpty
        }
        guard pickles.count == 1, let pickleEntry = pickles.first else {
            let inside = zip.entries.prefix(3).map(\.name).joined(separator: ", ")
            throw CheckpointError("\(path): a zip file but not a torch checkpoint (\(pickles.isEmpty ? "no" : "more than one") <name>/data.pkl entry); if it is a downloaded archive, unzip it and convert the checkpoint inside (it holds: \(inside)\(zip.entries.count > 3 ? ", …" : ""))")
        }
        let prefix = String(pickleEntry.name.dropLast("data.pkl".count))
        if let order = zip.entry(prefix + "byteorder") {
            let text = String(decoding: try zip.data(order), as: UTF8.self)
            guard text == "little" else { throw CheckpointError("\(path): saved with byte order '\(text)'; only little-endian checkpoints are supported") }
        }
        var declared: [String: StorageRef] = [:]
        let pickleBytes = try zip.data(pickleEntry)
        var unpickler = Unpickler(bytes: pickleBytes, context: "\(path) (\(pickleEntry.name))", limits: limits, arena: arena) { pid in
            let ref = try storageRef(pid, path: path, legacy: false)
            if let old = declared[ref.key], old != ref {
                throw CheckpointError("\(path): storage \(ref.key) is declared twice with different types or sizes")
            }
            declared[ref.key] = ref
            return .storage(ref)
        }
        let root = try unpickler.load()
        guard unpickler.position == pickleBytes.count else {
            throw CheckpointError("\(path): \(pickleEntry.name) has \(pickleBytes.count - unpickler.position) bytes after the pickle's end (corrupt file)")
        }
        for (key, ref) in declared {
            guard let entry = zip.entry(prefix + "data/" + key) else {
                throw CheckpointError("\(path): storage \(key) is missing (no entry \(prefix)data/\(key)); the file is incomplete")
            }
            let bytes = ref.count * ref.dtype.byteSize
            guard entry.size == bytes else {
                throw CheckpointError("\(path): storage \(key) holds \(entry.size) bytes, but \(ref.count) \(ref.dtype.torchName) elements need \(bytes) (corrupt file)")
            }
            _ = try zip.data(entry)  // checks the CRC
            storages[key] = (entry.dataOffset ..< entry.dataOffset + bytes, ref)
        }
        return root
    }

    /// Validates a persistent id tuple and returns the storage it names.
    private static func storageRef(_ pid: PickleValue, path: String, legacy: Bool) throws -> StorageRef {
        guard case .tuple(let tuple) = pid, case let t = tuple.items, t.count >= 5, case .string("storage") = t[0] else {
            throw CheckpointError("\(path): a persistent id that is not a storage reference (this reader handles tensors only)")
        }
        guard case .global(.storageType(let dtype)) = t[1] else {
            throw CheckpointError("\(path): a storage of kind \(t[1].kindName) is not supported")
        }
        let key: String
        switch t[2] {
        case .string(let s): key = s
        case .int(let i): key = String(i)
        default: throw CheckpointError("\(path): a storage key of kind \(t[2].kindName)")
        }
        guard key.utf8.count <= 256, !key.contains("/"), key != ".", key != ".." else { throw CheckpointError("\(path): a malformed storage key") }
        guard let count = t[4].asInt, count >= 0, count <= Int(Int32.max) * 16 else {
            throw CheckpointError("\(path): storage \(key) declares an impossible element count")
        }
        if legacy {
            guard t.count == 6 else { throw CheckpointError("\(path): a legacy storage reference with \(t.count) fields") }
            if case .none = t[5] {} else {
                throw CheckpointError("\(path): storage views (checkpoints from PyTorch < 0.4) are not supported; load and re-save the file with a newer PyTorch")
            }
        } else {
            guard t.count == 5 else { throw CheckpointError("\(path): a storage reference with \(t.count) fields") }
        }
        return StorageRef(key: key, dtype: dtype, count: count)
    }

    // MARK: legacy

    private static func readLegacy(_ raw: UnsafeRawBufferPointer, path: String, limits: PickleLimits, arena: PickleArena,
                                   storages: inout [String: (range: Range<Int>, ref: StorageRef)]) throws -> PickleValue {
        let notTorch = "not a PyTorch checkpoint (neither a torch zip file nor a legacy torch.save file)"
        if raw.count > 262, Array(raw[257..<262]) == Array("ustar".utf8) {
            throw CheckpointError("\(path): a tar archive (the torch.save format of PyTorch < 0.1.10, or a downloaded archive); not supported — unpack it, or load and re-save it with a newer PyTorch")
        }
        guard raw.count >= 2, raw[0] == 0x80 else { throw CheckpointError("\(path): \(notTorch)") }
        var u = Unpickler(bytes: raw, context: path, limits: limits, arena: arena, persistentLoad: nil)
        let magic: PickleValue
        do { magic = try u.load() } catch { throw CheckpointError("\(path): \(notTorch)") }
        guard case .bigInt(let m) = magic, m == legacyMagic else { throw CheckpointError("\(path): \(notTorch)") }
        guard case .int(legacyProtocolVersion) = try u.load() else {
            throw CheckpointError("\(path): legacy torch.save file with an unknown protocol version")
        }
        let sysInfo = try u.load()
        guard case .dict(let info) = sysInfo else { throw CheckpointError("\(path): legacy torch.save file without its sys_info record") }
        if case .bool(false) = info["little_endian"] {
            throw CheckpointError("\(path): saved on a big-endian machine; only little-endian checkpoints are supported")
        }
        var declared: [String: StorageRef] = [:]
        var objectReader = Unpickler(bytes: raw, position: u.position, context: path, limits: limits, arena: arena) { pid in
            let ref = try storageRef(pid, path: path, legacy: true)
            if let old = declared[ref.key], old != ref {
                throw CheckpointError("\(path): storage \(ref.key) is declared twice with different types or sizes")
            }
            declared[ref.key] = ref
            return .storage(ref)
        }
        let root = try objectReader.load()
        var keysReader = Unpickler(bytes: raw, position: objectReader.position, context: path, limits: limits, arena: arena, persistentLoad: nil)
        guard case .list(let keyList) = try keysReader.load() else {
            throw CheckpointError("\(path): legacy torch.save file without its storage key list")
        }
        var position = keysReader.position
        for item in keyList.items {
            guard case .string(let key) = item else { throw CheckpointError("\(path): a storage key of kind \(item.kindName)") }
            guard let ref = declared[key] else { throw CheckpointError("\(path): the key list names storage \(key), which no tensor uses") }
            guard storages[key] == nil else { throw CheckpointError("\(path): storage \(key) is listed twice") }
            guard raw.count - position >= 8 else { throw CheckpointError("\(path): storage \(key) is missing (truncated file)") }
            var n: UInt64 = 0
            for i in 0..<8 { n |= UInt64(raw[position + i]) << (8 * UInt64(i)) }
            position += 8
            guard n == UInt64(ref.count) else {
                throw CheckpointError("\(path): storage \(key) has \(n) elements where \(ref.count) were declared (corrupt file)")
            }
            let bytes = ref.count * ref.dtype.byteSize
            guard bytes <= raw.count - position else {
                throw CheckpointError("\(path): storage \(key) needs \(bytes) bytes, only \(raw.count - position) remain (truncated file)")
            }
            storages[key] = (position ..< position + bytes, ref)
            position += bytes
        }
        for key in declared.keys where storages[key] == nil {
            throw CheckpointError("\(path): storage \(key) is used by a tensor but absent from the file (corrupt file)")
        }
        return root
    }

    // MARK: tensors

    /// Copies a tensor out of its storage, following its offset, sizes and strides (views become contiguous).
    public func materialize(_ t: TensorRef, name: String) throws -> Materialized {
        func fail(_ why: String) -> CheckpointError { CheckpointError("\(path): tensor \(name): \(why)") }
        guard let (range, ref) = storages[t.storage.key] else { throw fail("its storage \(t.storage.key) was not loaded") }
        guard t.offset >= 0, t.shape.allSatisfy({ $0 >= 0 }), t.strides.allSatisfy({ $0 >= 0 }), t.shape.count == t.strides.count else {
            throw fail("negative offset, size or stride")
        }
        var count = 1
        var last = t.offset
        for (size, stride) in zip(t.shape, t.strides) {
            let (c, o1) = count.multipliedReportingOverflow(by: size)
            guard !o1 else { throw fail("its size overflows") }
            count = c
            if size > 0 {
                let (span, o2) = (size - 1).multipliedReportingOverflow(by: stride)
                let (l, o3) = last.addingReportingOverflow(span)
                guard !o2, !o3 else { throw fail("its extent overflows") }
                last = l
            }
        }
        let elementSize = ref.dtype.byteSize
        if count == 0 { return Materialized(dtype: ref.dtype, shape: t.shape, bytes: []) }
        guard last < ref.count else {
            throw fail("it reaches element \(last) of a storage with \(ref.count) (corrupt file)")
        }
        let (outBytes, o4) = count.multipliedReportingOverflow(by: elementSize)
        guard !o4, outBytes <= maxOutputBytes - outputBytes else {
            throw fail("it would expand to more than the \(maxOutputBytes) bytes allowed for this file")
        }
        outputBytes += outBytes
        var out = [UInt8](repeating: 0, count: outBytes)
        data.withUnsafeBytes { all in
            let base = all.baseAddress! + range.lowerBound
            out.withUnsafeMutableBytes { dst in
                let d = dst.baseAddress!
                // Row-major contiguous: one copy.
                var contiguous = true
                var expected = 1
                for i in stride(from: t.shape.count - 1, through: 0, by: -1) where t.shape[i] != 1 {
                    if t.strides[i] != expected { contiguous = false; break }
                    expected *= t.shape[i]
                }
                if contiguous {
                    memcpy(d, base + t.offset * elementSize, outBytes)
                    return
                }
                // General view: walk the index odometer, one innermost row at a time.
                let rank = t.shape.count
                let inner = t.shape[rank - 1], innerStride = t.strides[rank - 1]
                var index = [Int](repeating: 0, count: rank)
                var written = 0
                while written < outBytes {
                    var source = t.offset
                    for i in 0..<(rank - 1) { source &+= index[i] &* t.strides[i] }
                    for j in 0..<inner {
                        memcpy(d + written, base + (source &+ j &* innerStride) * elementSize, elementSize)
                        written &+= elementSize
                    }
                    var axis = rank - 2
                    while axis >= 0 {
                        index[axis] += 1
                        if index[axis] < t.shape[axis] { break }
                        index[axis] = 0
                        axis -= 1
                    }
                }
            }
        }
        return Materialized(dtype: ref.dtype, shape: t.shape, bytes: out)
    }
}
