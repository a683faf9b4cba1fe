import Foundation
import Kernels
import Testing
@testable import Checkpoint

/// SHA-256 against the FIPS 180-4 / NIST example vectors; CRC-32 against the standard check value.
@Suite struct ChecksumTests {
    @Test func sha256KnownVectors() {
        #expect(SHA256.hex(Array("".utf8)) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hex(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.hex(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))
            == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(SHA256.hex(Array("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu".utf8))
            == "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1")
        #expect(SHA256.hex([UInt8](repeating: 0x61, count: 1_000_000)) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    /// Feeding the data in uneven pieces gives the same digest as one call (the buffering path).
    @Test func sha256Incremental() {
        let data = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) }
        var s = SHA256()
        var i = 0
        for piece in [1, 63, 64, 65, 0, 200, 607] {
            data.withUnsafeBytes { s.update(UnsafeRawBufferPointer(rebasing: $0[i..<(i + piece)])) }
            i += piece
        }
        #expect(i == data.count)
        #expect(s.finalize().map { String(format: "%02x", $0) }.joined() == SHA256.hex(data))
    }

    @Test func crc32CheckValue() {
        #expect(Array("123456789".utf8).withUnsafeBytes { CRC32.checksum($0) } == 0xCBF4_3926)
        #expect([UInt8]().withUnsafeBytes { CRC32.checksum($0) } == 0)
    }

    /// The file digest recorded in the metadata is the digest of the file's bytes.
    @Test func checkpointDigestIsTheFileDigest() throws {
        let bytes = try CheckpointFixtures.bytes("net.legacy.pt")
        let checkpoint = try TorchCheckpoint(path: CheckpointFixtures.path("net.legacy.pt"))
        #expect(checkpoint.sha256 == SHA256.hex(bytes))
    }
}
