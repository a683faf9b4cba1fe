import Foundation
import Testing
import Kernels
import TestSupport

/// `emopipe tensor head` end to end: weights file written by the synthetic rule, golden inputs, golden outputs.
@Suite(.serialized) struct TensorHeadTests {
    @Test(.enabled(if: TestPaths.parityAvailable), arguments: ["jca", "jmt"])
    func headCommandMatchesGolden(head: String) throws {
        let dir = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let weights = dir.appendingPathComponent("head_\(head).safetensors").path
        let out = dir.appendingPathComponent("out.safetensors").path
        try SyntheticWeights.writer(for: try TestPaths.parityKeys("head_\(head).keys.txt"), salt: "", metadata: ["head": head])
            .write(to: weights)
        let golden = TestPaths.parity!.appendingPathComponent("heads.golden.safetensors").path
        let r = try runCommand(TestPaths.emopipeBinary.path,
                               ["tensor", "head", "--head", head, "--weights", weights, "--input", golden, "--output", out])
        #expect(r.status == 0, "\(r.stderr)")
        let result = try SafeTensorsFile(path: out), ref = try SafeTensorsFile(path: golden)
        for name in ["valence", "arousal"] {
            let p = parity(try result.tensor(name), try ref.tensor("\(head).\(name)"))
            #expect(p.passed, "\(head) \(name): \(p)")
            #expect(try result.tensor(name).shape == [2, 16])
        }

        // The same file given as another head is refused with a one-line reason, and no output is written.
        let other = head == "jca" ? "rjca" : "ca"
        let refused = dir.appendingPathComponent("refused.safetensors").path
        let bad = try runCommand(TestPaths.emopipeBinary.path,
                                 ["tensor", "head", "--head", other, "--weights", weights, "--input", golden, "--output", refused])
        #expect(bad.status != 0 && !bad.crashed)
        #expect(bad.stderr.contains("holds the weights of head '\(head)'"), "\(bad.stderr)")
        #expect(!FileManager.default.fileExists(atPath: refused))
    }
}
