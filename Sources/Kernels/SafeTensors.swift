import Foundation

/// Element types of the safetensors format that emopipe reads.
public enum SafeTensorsDType: String, Sendable, CaseIterable {
    case f32 = "F32", f16 = "F16", bf16 = "BF16", i64 = "I64", f64 = "F64", i32 = "I32", u8 = "U8", bool = "BOOL"

    public var byteSize: Int {
        switch self {
        case .f32, .i32: 4
        case .f16, .bf16: 2
        case .i64, .f64: 8
        case .u8, .bool: 1
        }
    }
}

public struct SafeTensorsError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A safetensors file, memory-mapped and validated when opened.
///
/// Layout: 8-byte little-endian header length N, N bytes of JSON `{name: {dtype, shape, data_offsets}, "__metadata__": {…}}`,
/// then the data section. Every entry is checked (known dtype, non-negative shape, byte count = elements × size,
/// offsets inside the data section, no overlaps) before any tensor is read, so a malformed or hostile file is an
/// error and never an out-of-bounds read.
public struct SafeTensorsFile: Sendable {
    public struct Entry: Sendable {
        public let name: String
        public let dtype: SafeTensorsDType
        public let shape: [Int]
        public let begin: Int, end: Int   // relative to the data section
        public var count: Int { shape.reduce(1, *) }
    }

    public let path: String
    public let metadata: [String: String]
    /// Tensor names in file order (by data offset).
    public let names: [String]
    public let entries: [String: Entry]
    private let bytes: Data
    private let dataStart: Int

    /// Largest header accepted (the format's own readers use 100 MB).
    public static let maxHeaderBytes = 100_000_000

    public init(path: String) throws {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw SafeTensorsError("\(path): no such file (check the path)")
        }
        guard !isDir.boolValue else { throw SafeTensorsError("\(path): is a folder, not a safetensors file (give the file itself)") }
        guard access(path, R_OK) == 0 else {
            throw SafeTensorsError("\(path): cannot read: \(String(cString: strerror(errno))) (check its permissions)")
        }
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) } catch {
            // Foundation's own text never reaches the user: the POSIX reason when there is one.
            let ns = error as NSError
            let code = ns.domain == NSPOSIXErrorDomain ? Int32(ns.code)
                : (ns.userInfo[NSUnderlyingErrorKey] as? NSError).flatMap { $0.domain == NSPOSIXErrorDomain ? Int32($0.code) : nil }
            throw SafeTensorsError("\(path): cannot read: \(code.map { String(cString: strerror($0)) } ?? "the file cannot be mapped") "
                                   + "(check the file and the disk)")
        }
        try self.init(data: data, path: path)
    }

    public init(data: Data, path: String = "<memory>") throws {
        self.path = path
        self.bytes = data
        func fail(_ why: String) -> SafeTensorsError {
            SafeTensorsError("\(path): not a valid safetensors file: \(why) (the file is damaged or of another kind; weights come "
                             + "from `emopipe convert`, see docs/weights.md)")
        }
        guard data.count >= 8 else { throw fail("shorter than the 8-byte header length") }
        var n: UInt64 = 0
        for i in 0..<8 { n |= UInt64(data[data.startIndex + i]) << (8 * UInt64(i)) }
        guard n <= UInt64(Self.maxHeaderBytes) else { throw fail("header length \(n) is larger than \(Self.maxHeaderBytes)") }
        guard n <= UInt64(data.count - 8) else { throw fail("header length \(n) runs past the end of the file (\(data.count) bytes)") }
        let headerLength = Int(n)
        dataStart = 8 + headerLength
        let header = data.subdata(in: data.startIndex + 8 ..< data.startIndex + dataStart)
        let json: Any
        do { json = try JSONSerialization.jsonObject(with: header, options: []) } catch {
            throw fail("header is not JSON")
        }
        guard let object = json as? [String: Any] else { throw fail("header is not a JSON object") }
        var metadata: [String: String] = [:]
        var entries: [String: Entry] = [:]
        let dataLength = data.count - dataStart
        for (key, value) in object {
            if key == "__metadata__" {
                guard let m = value as? [String: Any] else { throw fail("__metadata__ is not an object") }
                for (k, v) in m {
                    guard let s = v as? String else { throw fail("__metadata__[\(k)] is not a string") }
                    metadata[k] = s
                }
                continue
            }
            guard let info = value as? [String: Any] else { throw fail("entry \(key) is not an object") }
            guard let dt = info["dtype"] as? String, let dtype = SafeTensorsDType(rawValue: dt) else {
                throw fail("entry \(key) has an unknown dtype \(info["dtype"].map { "\($0)" } ?? "(none)")")
            }
            guard let rawShape = info["shape"] as? [Any], rawShape.count <= 16 else { throw fail("entry \(key) has no valid shape") }
            var shape: [Int] = []
            for d in rawShape {
                guard let num = d as? NSNumber, num.doubleValue == Double(num.int64Value), num.int64Value >= 0,
                      num.int64Value < Int64(Int32.max) else { throw fail("entry \(key) has a bad dimension \(d)") }
                shape.append(num.intValue)
            }
            // A dimension of 0 makes an empty tensor (no bytes), whatever the others are; otherwise the running product
            // only grows, so it can be bounded by the data section as it goes (no overflow on a hostile shape).
            var elements = shape.contains(0) ? 0 : 1
            if elements > 0 {
                for dim in shape {
                    let (p, overflow) = elements.multipliedReportingOverflow(by: dim)
                    guard !overflow, p <= dataLength else { throw fail("entry \(key) declares more elements than the file holds") }
                    elements = p
                }
            }
            guard let offsets = info["data_offsets"] as? [Any], offsets.count == 2,
                  let b = (offsets[0] as? NSNumber)?.int64Value, let e = (offsets[1] as? NSNumber)?.int64Value,
                  b >= 0, e >= b, e <= Int64(dataLength) else {
                throw fail("entry \(key) has data_offsets outside the data section")
            }
            let (bytesNeeded, overflow) = elements.multipliedReportingOverflow(by: dtype.byteSize)
            guard !overflow, Int64(bytesNeeded) == e - b else {
                throw fail("entry \(key): \(Tensor.shapeString(shape)) \(dt) needs \(bytesNeeded) bytes, offsets give \(e - b)")
            }
            entries[key] = Entry(name: key, dtype: dtype, shape: shape, begin: Int(b), end: Int(e))
        }
        let ordered = entries.values.sorted { ($0.begin, $0.end, $0.name) < ($1.begin, $1.end, $1.name) }
        var last = 0
        for entry in ordered where entry.end > entry.begin {
            guard entry.begin >= last else { throw fail("entry \(entry.name) overlaps the previous tensor") }
            last = entry.end
        }
        self.metadata = metadata
        self.entries = entries
        self.names = ordered.map(\.name)
    }

    public func contains(_ name: String) -> Bool { entries[name] != nil }

    public func entry(_ name: String) throws -> Entry {
        guard let e = entries[name] else { throw SafeTensorsError("\(path): no tensor named \(name)") }
        return e
    }

    private func withBytes<R>(_ e: Entry, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        bytes.withUnsafeBytes { all in
            body(UnsafeRawBufferPointer(rebasing: all[(dataStart + e.begin)..<(dataStart + e.end)]))
        }
    }

    /// The tensor converted to float32 (F32, F16, BF16, F64, integer and bool types).
    public func tensor(_ name: String) throws -> Tensor {
        let e = try entry(name)
        let t = Tensor(zeros: e.shape)
        withBytes(e) { raw in
            let out = t.data
            switch e.dtype {
            case .f32:
                for i in 0..<e.count { out[i] = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))) }
            case .f16:
                for i in 0..<e.count { out[i] = halfToFloat(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) }
            case .bf16:
                for i in 0..<e.count { out[i] = Float(bitPattern: UInt32(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) << 16) }
            case .f64:
                for i in 0..<e.count { out[i] = Float(Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)))) }
            case .i64:
                for i in 0..<e.count { out[i] = Float(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self))) }
            case .i32:
                for i in 0..<e.count { out[i] = Float(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self))) }
            case .u8, .bool:
                for i in 0..<e.count { out[i] = Float(raw[i]) }
            }
        }
        return t
    }

    /// The index of the first element of a float tensor (F32, F16, BF16, F64) that is NaN or infinite, read from the
    /// raw bytes without converting; nil when every element is finite or the tensor is not of a float type.
    public func firstNonFinite(_ name: String) throws -> Int? {
        let e = try entry(name)
        return withBytes(e) { raw -> Int? in
            switch e.dtype {
            case .f32:
                for i in 0..<e.count where raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self) & 0x7F80_0000 == 0x7F80_0000 { return i }
            case .f16:
                for i in 0..<e.count where raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self) & 0x7C00 == 0x7C00 { return i }
            case .bf16:
                for i in 0..<e.count where raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self) & 0x7F80 == 0x7F80 { return i }
            case .f64:
                for i in 0..<e.count where raw.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self) & 0x7FF0_0000_0000_0000 == 0x7FF0_0000_0000_0000 { return i }
            case .i64, .i32, .u8, .bool:
                break
            }
            return nil
        }
    }

    /// An I64 tensor's values.
    public func int64s(_ name: String) throws -> [Int64] {
        let e = try entry(name)
        guard e.dtype == .i64 else { throw SafeTensorsError("\(path): \(name) is \(e.dtype.rawValue), not I64") }
        return withBytes(e) { raw in (0..<e.count).map { Int64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * $0, as: Int64.self)) } }
    }

    /// An F64 tensor's values.
    public func doubles(_ name: String) throws -> [Double] {
        let e = try entry(name)
        guard e.dtype == .f64 else { throw SafeTensorsError("\(path): \(name) is \(e.dtype.rawValue), not F64") }
        return withBytes(e) { raw in (0..<e.count).map { Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * $0, as: UInt64.self))) } }
    }

    /// The raw little-endian bytes of a tensor.
    public func rawBytes(_ name: String) throws -> [UInt8] {
        let e = try entry(name)
        return withBytes(e) { Array($0) }
    }
}

/// IEEE half → float.
@inlinable public func halfToFloat(_ h: UInt16) -> Float {
    let sign = UInt32(h & 0x8000) << 16
    let exp = Int((h >> 10) & 0x1F)
    let mant = UInt32(h & 0x3FF)
    if exp == 0 {
        if mant == 0 { return Float(bitPattern: sign) }
        // subnormal half: mant × 2^-24
        let v = Float(mant) * Float(bitPattern: 0x3380_0000)  // 2^-24
        return sign != 0 ? -v : v
    }
    if exp == 31 { return Float(bitPattern: sign | 0x7F80_0000 | (mant << 13)) }
    return Float(bitPattern: sign | UInt32(exp - 15 + 127) << 23 | (mant << 13))
}

/// Writes safetensors files. Tensors keep the order given; the file is written atomically
/// (a temporary file in the same folder, renamed into place), so a failure leaves no output.
public struct SafeTensorsWriter: Sendable {
    public struct Item: Sendable {
        public let name: String
        public let dtype: SafeTensorsDType
        public let shape: [Int]
        public let bytes: [UInt8]

        public init(name: String, dtype: SafeTensorsDType, shape: [Int], bytes: [UInt8]) {
            precondition(shape.reduce(1, *) * dtype.byteSize == bytes.count, "\(name): \(bytes.count) bytes for \(shape) \(dtype)")
            self.name = name; self.dtype = dtype; self.shape = shape; self.bytes = bytes
        }

        public init(_ name: String, _ t: Tensor) {
            var b = [UInt8](repeating: 0, count: t.count * 4)
            b.withUnsafeMutableBytes { dst in
                for i in 0..<t.count { dst.storeBytes(of: t.data[i].bitPattern.littleEndian, toByteOffset: 4 * i, as: UInt32.self) }
            }
            self.init(name: name, dtype: .f32, shape: t.shape, bytes: b)
        }

        public init(_ name: String, int64 values: [Int64], shape: [Int]) {
            var b = [UInt8](repeating: 0, count: values.count * 8)
            b.withUnsafeMutableBytes { dst in
                for (i, v) in values.enumerated() { dst.storeBytes(of: v.littleEndian, toByteOffset: 8 * i, as: Int64.self) }
            }
            self.init(name: name, dtype: .i64, shape: shape, bytes: b)
        }
    }

    public var items: [Item] = []
    public var metadata: [String: String] = [:]

    public init(metadata: [String: String] = [:]) { self.metadata = metadata }

    public mutating func add(_ name: String, _ t: Tensor) { items.append(Item(name, t)) }
    public mutating func add(_ item: Item) { items.append(item) }

    /// The complete file contents.
    public func serialized() throws -> Data {
        var seen = Set<String>()
        var header = "{"
        var parts: [String] = []
        if !metadata.isEmpty {
            let m = metadata.keys.sorted().map { "\(jsonString($0)):\(jsonString(metadata[$0]!))" }.joined(separator: ",")
            parts.append("\"__metadata__\":{\(m)}")
        }
        var offset = 0
        for item in items {
            guard item.name != "__metadata__", seen.insert(item.name).inserted else {
                throw SafeTensorsError("tensor name \(item.name) is used twice or reserved")
            }
            let shape = item.shape.map(String.init).joined(separator: ",")
            parts.append("\(jsonString(item.name)):{\"dtype\":\"\(item.dtype.rawValue)\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(offset + item.bytes.count)]}")
            offset += item.bytes.count
        }
        header += parts.joined(separator: ",") + "}"
        var headerBytes = Array(header.utf8)
        while headerBytes.count % 8 != 0 { headerBytes.append(0x20) }  // pad with spaces to 8-byte alignment
        var out = Data()
        out.reserveCapacity(8 + headerBytes.count + offset)
        var n = UInt64(headerBytes.count).littleEndian
        withUnsafeBytes(of: &n) { out.append(contentsOf: $0) }
        out.append(contentsOf: headerBytes)
        for item in items { out.append(contentsOf: item.bytes) }
        return out
    }

    /// Writes the file atomically.
    public func write(to path: String) throws {
        try writeAtomically(try serialized(), to: path)
    }
}

func jsonString(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
        switch u {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if u.value < 0x20 { out += String(format: "\\u%04x", u.value) } else { out.unicodeScalars.append(u) }
        }
    }
    return out + "\""
}
