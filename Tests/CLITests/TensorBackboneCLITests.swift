import Foundation
import Testing
import Kernels
import TestSupport

/// End to end: `emopipe tensor visual|audio` on the golden inputs of shared/parity, with a weights file written by the
/// synth.py rule into a temporary folder.
@Suite("emopipe tensor visual / audio (end to end)", .serialized)
struct TensorBackboneCLITests {
    /// The synthetic weights file's bytes, made once per test process; each test writes them into its own temporary
    /// folder and removes it, so no 170 MB file is left behind.
    static let weightsData: Data? = {
        guard let keys = try? TestPaths.parityKeys("tsav.keys.txt") else { return nil }
        return try? SyntheticWeights.writer(for: keys).serialized()
    }()

    func run(_ stage: String, golden: String, outputs: [String], extra: [String] = []) throws {
        let data = try #require(Self.weightsData)
        let dir = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let weights = dir.appendingPathComponent("tsav.safetensors").path
        try data.write(to: URL(fileURLWithPath: weights))
        let input = TestPaths.parity!.appendingPathComponent(golden).path
        let output = dir.appendingPathComponent("out.safetensors").path
        let r = try runCommand(TestPaths.emopipeBinary.path,
                               ["tensor", stage, "--weights", weights, "--input", input, "--output", output, "--threads", "2"] + extra)
        #expect(r.status == 0, "stderr: \(r.stderr)")
        #expect(!r.crashed)
        #expect(r.stdout.isEmpty)
        let ours = try SafeTensorsFile(path: output), ref = try SafeTensorsFile(path: input)
        for name in outputs {
            let a = try ours.tensor(name), b = try ref.tensor(name)
            #expect(a.shape == b.shape, "\(name)")
            let p = parity(a, b)
            #expect(p.passed, "\(stage) \(name): \(p)")
        }
    }

    @Test("visual: layer4 and pooled match the golden file", .enabled(if: TestPaths.parityAvailable))
    func visual() throws {
        // --batch 1 also checks that splitting the clips into several passes changes nothing.
        try run("visual", golden: "visual_backbone.golden.safetensors", outputs: ["layer4", "pooled"], extra: ["--batch", "1"])
    }

    @Test("audio: features match the golden files (T = 104 and T = 131)", .enabled(if: TestPaths.parityAvailable))
    func audio() throws {
        try run("audio", golden: "audio_backbone.golden.safetensors", outputs: ["features"])
        try run("audio", golden: "audio_backbone_long.golden.safetensors", outputs: ["features"])
    }

    @Test("Wrong input or a broken weights file: exit status 1, a one-line reason, no output file")
    func failures() throws {
        let dir = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        // A weights file with a single tensor: the loader must name a missing one.
        var w = SafeTensorsWriter()
        w.add("fc.1.bias", Tensor(zeros: [17]))
        let weights = dir.appendingPathComponent("w.safetensors").path
        try w.write(to: weights)
        var i = SafeTensorsWriter()
        i.add("input", Tensor(zeros: [1, 3, 8, 32, 32]))
        let input = dir.appendingPathComponent("in.safetensors").path
        try i.write(to: input)
        let output = dir.appendingPathComponent("out.safetensors").path
        let bin = TestPaths.emopipeBinary.path

        let missing = try runCommand(bin, ["tensor", "visual", "--weights", weights, "--input", input, "--output", output])
        #expect(missing.status == 1 && !missing.crashed)
        #expect(missing.stderr.contains("missing tensor audio_model.resnet.conv1.weight"))
        #expect(missing.stderr.split(separator: "\n").count == 1)

        let shape = try runCommand(bin, ["tensor", "audio", "--weights", weights, "--input", input, "--output", output])
        #expect(shape.status == 1 && !shape.crashed)
        #expect(shape.stderr.contains("(N, 1, 64, T)"))

        var e = SafeTensorsWriter()
        e.add("input", Tensor(zeros: [0, 3, 8, 112, 112]))
        let empty = dir.appendingPathComponent("empty.safetensors").path
        try e.write(to: empty)
        let none = try runCommand(bin, ["tensor", "visual", "--weights", weights, "--input", empty, "--output", output])
        #expect(none.status == 1 && !none.crashed)
        #expect(none.stderr.contains("(N, 3, T, H, W)"))

        let absent = try runCommand(bin, ["tensor", "audio", "--weights", weights, "--input", dir.appendingPathComponent("none").path,
                                          "--output", output])
        #expect(absent.status == 1 && !absent.crashed)
        #expect(!FileManager.default.fileExists(atPath: output))
    }
}
