import Foundation
import Kernels
import TestSupport
import Testing
@testable import Checkpoint

/// Truncated, bit-flipped and hostile files: always an error (or, for harmless flips in a zip, the very same
/// tensors), never a crash, a hang, a huge allocation, or executed code.
@Suite struct HostileInputTests {
    /// Reads like `emopipe convert` and returns the tensors, or nil when it failed with a CheckpointError.
    /// Any other error type is a test failure.
    static func outcome(_ bytes: [UInt8]) -> [StateDict.Tensor]? {
        do {
            return try readStateDict(bytes).tensors
        } catch is CheckpointError {
            return nil
        } catch {
            Issue.record("unexpected error type: \(error)")
            return nil
        }
    }

    static func error(_ bytes: [UInt8]) -> String? {
        do { _ = try readStateDict(bytes); return nil } catch { return "\(error)" }
    }

    // MARK: truncation and bit flips

    @Test(arguments: ["nested.zip.pt", "nested.legacy.pt", "net.legacy.pt", "bare.zip.pt"])
    func everyTruncationIsAnError(file: String) throws {
        let bytes = try CheckpointFixtures.bytes(file)
        #expect(Self.outcome(bytes) != nil)
        var accepted: [Int] = []
        for length in stride(from: 0, to: bytes.count, by: file.contains("zip") ? 3 : 1) where Self.outcome(Array(bytes[..<length])) != nil {
            accepted.append(length)
        }
        #expect(accepted.isEmpty, "\(file): truncated to \(accepted.prefix(5)) bytes was accepted")
    }

    /// Zip checkpoints carry a CRC-32 for the pickle and every storage: a flipped bit either is an error or
    /// falls in a field that does not matter (then the tensors are identical). Never silently different numbers.
    @Test(arguments: ["nested.zip.pt", "net.zip.pt"])
    func zipBitFlipsAreErrorsOrHarmless(file: String) throws {
        let bytes = try CheckpointFixtures.bytes(file)
        let original = try #require(Self.outcome(bytes))
        var rng: UInt64 = 0x9E37_79B9_7F4A_7C15
        var errors = 0
        for _ in 0..<400 {
            rng = rng &* 6364136223846793005 &+ 1442695040888963407
            let position = Int((rng >> 33) % UInt64(bytes.count)), bit = Int(rng >> 60) & 7
            var flipped = bytes
            flipped[position] ^= UInt8(1 << bit)
            if let got = Self.outcome(flipped) {
                #expect(got == original, "\(file): flipping bit \(bit) of byte \(position) changed the tensors silently")
            } else {
                errors += 1
            }
        }
        #expect(errors > 100)  // most of the file is checksummed content
    }

    /// The legacy format has no checksum: a flip in the raw numbers cannot be detected (docs/weights.md says
    /// so and records the file's SHA-256). The reader must still never crash, hang or over-allocate.
    @Test func legacyBitFlipsNeverCrash() throws {
        let bytes = try CheckpointFixtures.bytes("nested.legacy.pt")
        var rng: UInt64 = 12345
        for _ in 0..<400 {
            rng = rng &* 6364136223846793005 &+ 1442695040888963407
            var flipped = bytes
            flipped[Int((rng >> 33) % UInt64(bytes.count))] ^= UInt8(1 << Int(rng >> 61))
            _ = Self.outcome(flipped)
        }
    }

    /// Random byte overwrites and chunk splices over every fixture (pickle opcodes, lengths, zip fields, data):
    /// each read ends in a result or a CheckpointError, never a trap, a hang or a huge allocation.
    @Test func randomMutationsNeverCrash() throws {
        var rng: UInt64 = 0xDEAD_BEEF
        func next() -> UInt64 { rng = rng &* 6364136223846793005 &+ 1442695040888963407; return rng >> 16 }
        for (file, _) in CheckpointFixtures.converted {
            let bytes = try CheckpointFixtures.bytes(file)
            for round in 0..<300 {
                var m = bytes
                switch round % 3 {
                case 0:  // one byte set to any value
                    m[Int(next() % UInt64(m.count))] = UInt8(truncatingIfNeeded: next())
                case 1:  // up to 8 bytes overwritten with 0xFF or 0x00 (saturated lengths, zero counts)
                    let at = Int(next() % UInt64(m.count)), fill: UInt8 = next() & 1 == 0 ? 0xFF : 0x00
                    for i in at..<min(m.count, at + 1 + Int(next() % 8)) { m[i] = fill }
                default: // a chunk of the file copied over another place
                    let from = Int(next() % UInt64(m.count)), to = Int(next() % UInt64(m.count))
                    let n = min(1 + Int(next() % 64), m.count - from, m.count - to)
                    m.replaceSubrange(to..<(to + n), with: bytes[from..<(from + n)])
                }
                _ = Self.outcome(m)
            }
        }
    }

    // MARK: hostile pickles

    @Test func refusesOsSystem() {
        var p = PickleBuilder()
        p.global("os", "system"); p.string("echo pwned > /tmp/emopipe-pwned"); p.op(0x85, 0x52); p.stop()
        let message = Self.error(legacyFile(object: p.bytes, storages: []))
        #expect(message?.contains("refusing to load os.system") == true)
        #expect(!FileManager.default.fileExists(atPath: "/tmp/emopipe-pwned"))
    }

    @Test func refusesBuiltinsEvalViaStackGlobal() {
        // protocol 4: SHORT_BINUNICODE 'builtins', SHORT_BINUNICODE 'eval', STACK_GLOBAL
        var bytes: [UInt8] = [0x80, 0x04, 0x8C, 8] + Array("builtins".utf8) + [0x8C, 4] + Array("eval".utf8) + [0x93]
        bytes += [0x8C, 9] + Array("1+1 or 42".utf8) + [0x85, 0x52, 0x2E]
        let message = Self.error(legacyFile(object: bytes, storages: []))
        #expect(message?.contains("refusing to load builtins.eval") == true)
    }

    @Test(arguments: [("torch", "load"), ("subprocess", "Popen"), ("torch.nn.parameter", "Parameter"), ("builtins", "getattr"),
                      ("torch", "Tensor"), ("collections", "defaultdict"), ("numpy", "load")])
    func refusesOtherGlobals(module: String, name: String) {
        var p = PickleBuilder()
        p.global(module, name); p.op(0x29, 0x52); p.stop()
        #expect(Self.error(legacyFile(object: p.bytes, storages: []))?.contains("refusing to load \(module).\(name)") == true)
    }

    @Test func deepNestingIsRefused() {
        // 100 000 open MARKs
        let marks: [UInt8] = [0x80, 0x02] + [UInt8](repeating: 0x28, count: 100_000) + [0x2E]
        #expect(Self.error(legacyFile(object: marks, storages: []))?.contains("nests deeper") == true)
        // dicts nested 50 000 deep as the state dict
        var p = PickleBuilder()
        for _ in 0..<50_000 { p.op(0x7D); p.string("k") }
        p.op(0x7D)
        for _ in 0..<50_000 { p.op(0x73) }
        p.stop()
        #expect(Self.error(legacyFile(object: p.bytes, storages: []))?.contains("deeper than") == true)
        // a dict holding itself twice: exponential if walked naively
        var q = PickleBuilder()
        q.op(0x7D, 0x71, 0); q.string("a"); q.op(0x68, 0); q.op(0x73); q.string("b"); q.op(0x68, 0); q.op(0x73); q.stop()
        #expect(Self.error(legacyFile(object: q.bytes, storages: [])) != nil)
        // a million-deep tuple (TUPLE1 of TUPLE1 of …) and list (APPEND chain): released without recursion
        let tuples: [UInt8] = [0x80, 0x02, 0x4E] + [UInt8](repeating: 0x85, count: 1_000_000) + [0x2E]
        #expect(Self.error(legacyFile(object: tuples, storages: []))?.contains("not a dict") == true)
        var chain: [UInt8] = [0x80, 0x02]
        for _ in 0..<300_000 { chain += [0x5D] }
        chain += [UInt8](repeating: 0x61, count: 299_999) + [0x2E]
        #expect(Self.error(legacyFile(object: chain, storages: []))?.contains("not a dict") == true)
        // two million empty lists: the stack limit
        let lists: [UInt8] = [0x80, 0x02] + [UInt8](repeating: 0x5D, count: 2_000_000) + [0x2E]
        #expect(Self.error(legacyFile(object: lists, storages: []))?.contains("stack exceeds") == true)
    }

    @Test func absurdDeclaredSizesAreRefusedBeforeAllocating() {
        let cases: [[UInt8]] = [
            [0x80, 0x02, 0x8D] + [UInt8](repeating: 0xFF, count: 7) + [0x3F, 0x2E],  // BINUNICODE8 of 2^62 bytes
            [0x80, 0x02, 0x42, 0xFF, 0xFF, 0xFF, 0xFF, 0x2E],                        // BINBYTES of 4 GiB
            [0x80, 0x02, 0x58, 0x00, 0x00, 0x00, 0x01, 0x2E],                        // BINUNICODE of 16 MiB, absent
            [0x80, 0x02, 0x8B, 0xFF, 0xFF, 0xFF, 0x7F, 0x2E],                        // LONG4 of 2^31 bytes
            [0x80, 0x02, 0x8E] + [UInt8](repeating: 0xFF, count: 8) + [0x2E],         // BINBYTES8 of 2^64-1
        ]
        for c in cases { #expect(Self.error(legacyFile(object: c, storages: [])) != nil) }
    }

    @Test func hugeMemoIndexesAreRefused() {
        let put: [UInt8] = [0x80, 0x02, 0x4E, 0x72, 0xFF, 0xFF, 0xFF, 0xFF, 0x2E]    // LONG_BINPUT 2^32-1
        #expect(Self.error(legacyFile(object: put, storages: []))?.contains("memo index") == true)
        let get: [UInt8] = [0x80, 0x02, 0x6A, 0x00, 0x00, 0x00, 0x7F, 0x2E]          // LONG_BINGET of nothing
        #expect(Self.error(legacyFile(object: get, storages: []))?.contains("memo index") == true)
    }

    @Test func unknownOpcodesAndProtocolsAreErrors() {
        #expect(Self.error(legacyFile(object: [0x80, 0x02, 0x69, 0x2E], storages: [])) != nil)   // INST
        #expect(Self.error(legacyFile(object: [0x80, 0x02, 0x6F, 0x2E], storages: [])) != nil)   // OBJ
        #expect(Self.error(legacyFile(object: [0x80, 0x06, 0x4E, 0x2E], storages: [])) != nil)   // protocol 6
        #expect(Self.error([0x80, 0x02, 0x4E, 0x2E]) != nil)                                     // a pickle, not a checkpoint
        #expect(Self.error(Array("hello, world".utf8)) != nil)
        #expect(Self.error([]) != nil)
    }

    /// Tensors whose size, stride or offset reach outside their storage, or expand it enormously.
    @Test func tensorsReachingOutsideTheirStorageAreRefused() {
        func file(numel: Int64, stored: Int64, offset: Int64, size: [Int64], stride: [Int64]) -> [UInt8] {
            var p = PickleBuilder()
            p.op(0x7D)
            p.tensorItem("w", storage: "0", numel: numel, offset: offset, size: size, stride: stride)
            p.stop()
            return legacyFile(object: p.bytes, storages: [("0", stored, floatBytes([Float](repeating: 1, count: Int(max(0, min(stored, 4))))))])
        }
        #expect(Self.outcome(file(numel: 4, stored: 4, offset: 0, size: [2, 2], stride: [2, 1])) != nil)       // the sane one
        #expect(Self.error(file(numel: 4, stored: 4, offset: 0, size: [1_000_000_000], stride: [1])) != nil)   // past the storage
        #expect(Self.error(file(numel: 4, stored: 4, offset: 3, size: [2], stride: [1])) != nil)               // offset + size
        #expect(Self.error(file(numel: 4, stored: 4, offset: -1, size: [2], stride: [1])) != nil)              // negative offset
        #expect(Self.error(file(numel: 4, stored: 4, offset: 0, size: [2], stride: [-1])) != nil)              // negative stride
        #expect(Self.error(file(numel: 4, stored: 4, offset: 0, size: [1 << 20, 1 << 20], stride: [0, 0]))?.contains("expand") == true)
        #expect(Self.error(file(numel: 4, stored: 4, offset: 0, size: [Int64.max, 2], stride: [0, 1])) != nil)  // overflow
        #expect(Self.error(file(numel: 1 << 40, stored: 1 << 40, offset: 0, size: [2], stride: [1])) != nil)   // storage absent
        #expect(Self.error(file(numel: 4, stored: 3, offset: 0, size: [2], stride: [1])) != nil)               // count mismatch
        var p = PickleBuilder()
        p.op(0x7D)
        p.tensorItem("w", storage: "0", numel: 4, offset: 0, size: [2], stride: [1])
        p.stop()
        #expect(Self.error(legacyFile(object: p.bytes, storages: [])) != nil)                                  // key list empty
    }

    // MARK: zip archives that lie

    /// Offsets of the central-directory records of a zip file.
    static func centralRecords(_ b: [UInt8]) -> [Int] {
        (0..<(b.count - 4)).filter { b[$0] == 0x50 && b[$0 + 1] == 0x4B && b[$0 + 2] == 0x01 && b[$0 + 3] == 0x02 }
    }

    static func put32(_ b: inout [UInt8], _ at: Int, _ v: UInt32) { for i in 0..<4 { b[at + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt32(i))) } }
    static func put64(_ b: inout [UInt8], _ at: Int, _ v: UInt64) { for i in 0..<8 { b[at + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(i))) } }

    @Test func zipEntriesLyingAboutSizesAreErrors() throws {
        let bytes = try CheckpointFixtures.bytes("nested.zip.pt")
        let records = Self.centralRecords(bytes)
        #expect(records.count >= 5)
        for r in records {
            let trueSize = UInt32(bytes[r + 24]) | UInt32(bytes[r + 25]) << 8 | UInt32(bytes[r + 26]) << 16 | UInt32(bytes[r + 27]) << 24
            for (size, label) in [(UInt32(0x7FFF_FFFF), "huge"), (UInt32(3), "short"), (UInt32(0), "empty")] where size != trueSize {
                var b = bytes
                Self.put32(&b, r + 20, size); Self.put32(&b, r + 24, size)
                let got = Self.outcome(b)
                // Some entries (version, serialization id) do not matter; the ones that do must fail.
                let name = String(decoding: b[(r + 46)..<(r + 46 + Int(b[r + 28]))], as: UTF8.self)
                if name.hasSuffix("data.pkl") || name.contains("/data/") {
                    #expect(got == nil, "\(name) declared \(label) was accepted")
                }
            }
            var zip64 = bytes                           // sizes saturated without a ZIP64 extra field
            Self.put32(&zip64, r + 20, 0xFFFF_FFFF); Self.put32(&zip64, r + 24, 0xFFFF_FFFF)
            #expect(Self.outcome(zip64) == nil)
            var offset = bytes                          // local header offset past the end
            Self.put32(&offset, r + 42, 0x7FFF_FFF0)
            #expect(Self.outcome(offset) == nil)
            var method = bytes                          // deflate, in the central and the local header
            method[r + 10] = 8
            let local = Int(bytes[r + 42]) | Int(bytes[r + 43]) << 8 | Int(bytes[r + 44]) << 16 | Int(bytes[r + 45]) << 24
            #expect(Self.error(method)?.contains("disagrees") == true)
            method[local + 8] = 8
            let name = String(decoding: bytes[(r + 46)..<(r + 46 + Int(bytes[r + 28]))], as: UTF8.self)
            if name.hasSuffix("data.pkl") || name.contains("/data/") || name.hasSuffix("byteorder") {
                #expect(Self.error(method)?.contains("compressed") == true, "\(name)")
            }
        }
        // The ZIP64 end record: absurd entry count and directory offset.
        let signature: [UInt8] = [0x50, 0x4B, 0x06, 0x06]
        let found: Int? = (0..<(bytes.count - 4)).last { (i: Int) -> Bool in Array(bytes[i..<(i + 4)]) == signature }
        let end64 = try #require(found)
        var count = bytes
        Self.put64(&count, end64 + 32, UInt64.max / 2)
        #expect(Self.outcome(count) == nil)
        var cd = bytes
        Self.put64(&cd, end64 + 48, UInt64.max - 10)
        #expect(Self.outcome(cd) == nil)
    }
}
