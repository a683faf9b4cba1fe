import Foundation
import Kernels
import TestSupport
import Testing
@testable import Checkpoint

/// `emopipe convert` end to end, on the built binary.
@Suite(.serialized) struct ConvertCLITests {
    static var binary: String { TestPaths.emopipeBinary.path }

    @Test func convertsAFixtureExactly() throws {
        let dir = TestPaths.temporaryDirectory("convert-cli")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("nested.safetensors").path
        let r = try runCommand(Self.binary, ["convert", CheckpointFixtures.path("nested.legacy.pt"), out, "--kind", "unchecked"], timeout: 60)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.isEmpty)
        #expect(r.stderr.contains("15 tensors"))
        let got = try SafeTensorsFile(path: out)
        let expected = try SafeTensorsFile(path: CheckpointFixtures.path("nested.expected.safetensors"))
        #expect(got.names == expected.names)
        for name in expected.names {
            #expect(got.entries[name]!.dtype == expected.entries[name]!.dtype)
            #expect(got.entries[name]!.shape == expected.entries[name]!.shape)
            #expect(try got.rawBytes(name) == expected.rawBytes(name), "\(name)")
        }
        #expect(got.metadata["kind"] == "unchecked")
        #expect(got.metadata["source"] == "nested.legacy.pt")
        #expect(got.metadata["source_format"] == "pytorch-legacy")
        #expect(got.metadata["source_sha256"] == SHA256.hex(try CheckpointFixtures.bytes("nested.legacy.pt")))
        // Only the output file was created (the temporary file was renamed into place).
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["nested.safetensors"])
    }

    /// Failures: non-zero exit, one line on stderr, nothing on stdout, no output file (and an existing one untouched).
    @Test(arguments: [
        (["whole_module.pt"], "torch.nn.modules.linear.Linear"),
        (["no_tensors.pt"], "no tensors"),
        (["net.zip.pt"], "match neither"),                    // not TSAV, not a head: inference fails
        (["net.zip.pt", "--kind", "tsav"], "not a complete TSAV"),
        (["bare.legacy.pt", "--head", "jca"], "not a complete head jca"),
        (["missing-file.pt"], "no such file"),
    ])
    func failuresLeaveNoFile(args: [String], message: String) throws {
        let dir = TestPaths.temporaryDirectory("convert-cli")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("out.safetensors").path
        let r = try runCommand(Self.binary, ["convert", CheckpointFixtures.path(args[0]), out] + args.dropFirst(), timeout: 60)
        #expect(r.status != 0 && !r.crashed)
        #expect(r.stdout.isEmpty)
        let lines = r.stderr.split(separator: "\n")
        #expect(lines.count == 1, "stderr: \(r.stderr)")
        #expect(r.stderr.contains(message), "stderr: \(r.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)

        // An existing output stays as it was.
        try Data("keep".utf8).write(to: URL(fileURLWithPath: out))
        let again = try runCommand(Self.binary, ["convert", CheckpointFixtures.path(args[0]), out] + args.dropFirst(), timeout: 60)
        #expect(again.status != 0)
        #expect(try Data(contentsOf: URL(fileURLWithPath: out)) == Data("keep".utf8))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["out.safetensors"])
    }

    @Test func hostileFileExitsWithOneLine() throws {
        let dir = TestPaths.temporaryDirectory("convert-cli")
        defer { try? FileManager.default.removeItem(at: dir) }
        var p = PickleBuilder()
        p.global("os", "system"); p.string("touch \(dir.path)/pwned"); p.op(0x85, 0x52); p.stop()
        let input = dir.appendingPathComponent("evil.pt")
        try Data(legacyFile(object: p.bytes, storages: [])).write(to: input)
        let out = dir.appendingPathComponent("out.safetensors").path
        let r = try runCommand(Self.binary, ["convert", input.path, out], timeout: 60)
        #expect(r.status != 0 && !r.crashed)
        #expect(r.stderr.split(separator: "\n").count == 1)
        #expect(r.stderr.contains("refusing to load os.system"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["evil.pt"])
    }

    @Test func skipUnknownObjectsOptIn() throws {
        let dir = TestPaths.temporaryDirectory("convert-cli")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("extras.safetensors").path
        let refused = try runCommand(Self.binary, ["convert", CheckpointFixtures.path("extras.zip.pt"), out, "--kind", "unchecked"], timeout: 60)
        #expect(refused.status != 0 && refused.stderr.contains("argparse.Namespace") && refused.stderr.contains("--skip-unknown-objects"))
        #expect(!FileManager.default.fileExists(atPath: out))
        let r = try runCommand(Self.binary, ["convert", CheckpointFixtures.path("extras.zip.pt"), out, "--kind", "unchecked", "--skip-unknown-objects"], timeout: 60)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("2 tensors") && r.stderr.contains("skipped 1 non-tensor entries"))
        #expect(try SafeTensorsFile(path: out).names == ["weight", "bias"])
    }

    @Test func badOptionsAreRejected() throws {
        let r = try runCommand(Self.binary, ["convert", CheckpointFixtures.path("net.zip.pt"), "/tmp/never-written.safetensors", "--kind", "bogus"], timeout: 60)
        #expect(r.status != 0)
        #expect(r.stderr.contains("--kind must be one of"))
        #expect(!FileManager.default.fileExists(atPath: "/tmp/never-written.safetensors"))
    }
}
