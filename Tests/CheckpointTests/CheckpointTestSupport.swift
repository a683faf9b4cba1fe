import Foundation
import Kernels
import TestSupport
@testable import Checkpoint

/// Fixture paths and helpers shared by the checkpoint tests.
enum CheckpointFixtures {
    static func path(_ name: String) -> String { TestPaths.fixture("checkpoints/" + name) }

    static func bytes(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: path(name))))
    }

    /// Every torch.save fixture with the name of the expected-tensors file it must give.
    static let converted: [(file: String, expected: String)] = [
        ("nested.zip.pt", "nested"), ("nested.legacy.pt", "nested"), ("nested.proto4.pt", "nested"),
        ("net.zip.pt", "net"), ("net.legacy.pt", "net"),
        ("bare.zip.pt", "bare"), ("bare.legacy.pt", "bare"),
    ]
}

/// Reads a checkpoint held in memory the way `emopipe convert` does, without writing anything.
func readStateDict(_ bytes: [UInt8], path: String = "<memory>") throws -> StateDict {
    let checkpoint = try TorchCheckpoint(data: Data(bytes), path: path)
    return try StateDict(checkpoint)
}

/// Small builder of hand-written pickles (protocol 2 opcodes), for hostile and edge-case inputs.
struct PickleBuilder {
    var bytes: [UInt8] = [0x80, 0x02]

    mutating func op(_ b: UInt8...) { bytes += b }
    mutating func global(_ module: String, _ name: String) { bytes += [0x63] + Array((module + "\n" + name + "\n").utf8) }
    mutating func string(_ s: String) {
        let u = Array(s.utf8)
        bytes += [0x58] + le(UInt64(u.count), 4) + u
    }
    /// Any Int64, as LONG1 with 8 bytes.
    mutating func int(_ v: Int64) { bytes += [0x8A, 8] + le(UInt64(bitPattern: v), 8) }
    mutating func tuple(_ values: [Int64]) {
        op(0x28)
        for v in values { int(v) }
        op(0x74)
    }
    mutating func stop() { op(0x2E) }

    /// `name: torch._utils._rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict())` as a SETITEM
    /// onto the dict below; the storage persistent id has the legacy 6 fields.
    mutating func tensorItem(_ name: String, storage key: String, type: String = "FloatStorage", numel: Int64,
                             offset: Int64, size: [Int64], stride: [Int64]) {
        string(name)
        global("torch._utils", "_rebuild_tensor_v2")
        op(0x28)                       // MARK (args)
        op(0x28); string("storage"); global("torch", type); string(key); string("cpu"); int(numel); op(0x4E); op(0x74)
        op(0x51)                       // BINPERSID
        int(offset); tuple(size); tuple(stride); op(0x89)
        global("collections", "OrderedDict"); op(0x29, 0x52)
        op(0x74, 0x52)                 // TUPLE, REDUCE
        op(0x73)                       // SETITEM
    }

    func le(_ v: UInt64, _ n: Int) -> [UInt8] { (0..<n).map { UInt8(truncatingIfNeeded: v >> (8 * UInt64($0))) } }
}

/// A legacy-format torch.save file around an object pickle: magic, protocol version, sys_info, the object,
/// the storage key list, then each storage as an int64 element count and its bytes.
func legacyFile(object: [UInt8], storages: [(key: String, count: Int64, bytes: [UInt8])]) -> [UInt8] {
    var out: [UInt8] = [0x80, 0x02, 0x8A, 0x0A] + TorchCheckpoint.legacyMagic + [0x2E]
    out += [0x80, 0x02, 0x4D, 0xE9, 0x03, 0x2E]           // 1001
    out += [0x80, 0x02, 0x7D, 0x2E]                       // {}
    out += object
    var keys = PickleBuilder()
    keys.op(0x5D)
    for s in storages { keys.string(s.key); keys.op(0x61) }
    keys.stop()
    out += keys.bytes
    for s in storages { out += keys.le(UInt64(bitPattern: s.count), 8) + s.bytes }
    return out
}

func floatBytes(_ values: [Float]) -> [UInt8] {
    values.flatMap { v in withUnsafeBytes(of: v.bitPattern.littleEndian) { Array($0) } }
}
