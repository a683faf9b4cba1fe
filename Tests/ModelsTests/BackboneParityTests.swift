import Testing
import Kernels
import Models
import TestSupport

/// Full-size backbones with synthetic weights against the PyTorch goldens in shared/parity (tolerance of its README).
@Suite("Backbone parity with PyTorch (full size)", .serialized)
struct BackboneParityTests {
    @Test("R(2+1)D-18: layer4 and pooled match visual_backbone", .enabled(if: TestPaths.parityAvailable))
    func visual() throws {
        let golden = try TestPaths.parityFile("visual_backbone.golden.safetensors")
        let out = try SyntheticTSAV.visual.forward(try golden.tensor("input"), wantMax: true, threads: 2)
        let layer4 = try golden.tensor("layer4"), pooled = try golden.tensor("pooled")
        #expect(out.layer4.shape == layer4.shape)
        let p4 = parity(out.layer4, layer4), pp = parity(out.pooled, pooled)
        #expect(p4.passed, "layer4: \(p4)")
        #expect(pp.passed, "pooled: \(pp)")
        // The max over the 49 positions, from the golden layer4 itself.
        let n = layer4.shape[0]
        let expectedMax = Tensor(zeros: [n, 512])
        for b in 0..<n { for c in 0..<512 {
            var m = -Float.infinity
            for q in 0..<49 { m = max(m, layer4[b * 25088 + c * 49 + q]) }
            expectedMax[b * 512 + c] = m
        } }
        let pm = parity(out.maxPooled!, expectedMax)
        #expect(pm.passed, "max: \(pm)")
    }

    @Test("ResNet-18 audio: features match audio_backbone (T = 104) and audio_backbone_long (T = 131)",
          .enabled(if: TestPaths.parityAvailable), arguments: ["audio_backbone", "audio_backbone_long"])
    func audio(_ name: String) throws {
        let golden = try TestPaths.parityFile("\(name).golden.safetensors")
        let out = try SyntheticTSAV.audio.forward(try golden.tensor("input"), threads: 2)
        let ref = try golden.tensor("features")
        #expect(out.shape == ref.shape)
        let p = parity(out, ref)
        #expect(p.passed, "\(name): \(p)")
    }
}
