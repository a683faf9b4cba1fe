import Foundation
import Testing
import Kernels
import Models
import TestSupport

/// The TSAV weights generated once per test process by the synth.py rule over the architecture's own key list.
enum SyntheticTSAV {
    static let data: Data = {
        let keys = try! SyntheticWeights.parseKeys(TSAVBackbones.keysText)
        return try! SyntheticWeights.writer(for: keys).serialized()
    }()
    static let reader: StateDictReader = StateDictReader(try! SafeTensorsFile(data: data, path: "<synthetic tsav>"))
    static let visual: R2Plus1D18 = try! R2Plus1D18(reader, prefix: TSAVBackbones.videoPrefix)
    static let audio: ResNet18 = try! ResNet18(reader, prefix: TSAVBackbones.audioPrefix)
}

@Suite("Backbone behaviour with synthetic weights", .serialized)
struct BackboneBehaviourTests {
    @Test("ResNet-18 takes any number of frames, and a batch equals its samples run one by one", arguments: [1, 5, 64, 131])
    func audioAnyLength(_ frames: Int) throws {
        let x = SyntheticWeights.uniformTensor("test:spectrogram", shape: [3, 1, 64, frames])
        let batch = try SyntheticTSAV.audio.forward(x, threads: 2)
        #expect(batch.shape == [3, 512])
        for i in 0..<3 {
            let one = try SyntheticTSAV.audio.forward(x.slice(first: i, count: 1), threads: 1)
            let row = batch.slice(first: i, count: 1)
            #expect(maxAbsDifference(one, row) <= 1e-5 * max(1, one.array.map(abs).max()!))
        }
        #expect(batch.array.allSatisfy { $0.isFinite && $0 >= 0 })   // mean of ReLU outputs
    }

    @Test("ResNet-18 on a very small input (layer4 wider than the stem output) stays in bounds and is batch-invariant")
    func audioTiny() throws {
        let x = SyntheticWeights.uniformTensor("test:tiny", shape: [2, 1, 3, 2])
        let batch = try SyntheticTSAV.audio.forward(x, threads: 2)
        let one = try SyntheticTSAV.audio.forward(x.slice(first: 1, count: 1), threads: 2)
        #expect(maxAbsDifference(one, batch.slice(first: 1, count: 1)) <= 1e-5 * max(1, one.array.map(abs).max()!))
    }

    @Test("R(2+1)D-18 on other clip sizes: layer4 is (512, ⌈T/8⌉, ⌈H/16⌉, ⌈W/16⌉) and pooled is its mean")
    func visualOtherSizes() throws {
        let x = SyntheticWeights.uniformTensor("test:clip", shape: [1, 3, 5, 40, 56])
        let out = try SyntheticTSAV.visual.forward(x, wantMax: true, threads: 2)
        #expect(out.layer4.shape == [1, 512 * 1 * 3 * 4])
        let positions = 12
        for c in 0..<512 {
            var sum: Float = 0, m = -Float.infinity
            for q in 0..<positions { let v = out.layer4[c * positions + q]; sum += v; m = max(m, v) }
            #expect(abs(out.pooled[c] - sum / Float(positions)) < 1e-5)
            #expect(out.maxPooled![c] == m)
        }
        #expect(throws: WeightsError.self) { try SyntheticTSAV.visual.forward(Tensor(zeros: [1, 4, 8, 112, 112]), threads: 2) }
    }
}

@Suite("TSAV checkpoint keys and loader checks")
struct BackboneKeysTests {
    @Test("Generated key list equals shared/parity/tsav.keys.txt", .enabled(if: TestPaths.parityAvailable))
    func keysMatchShared() throws {
        let shared = try String(contentsOf: TestPaths.parity!.appendingPathComponent("tsav.keys.txt"), encoding: .utf8)
        #expect(TSAVBackbones.keysText == shared)
    }

    @Test("Key list: 344 entries, mid-channels per block as in the spec, parameter counts")
    func keyListFacts() {
        let keys = TSAVBackbones.stateDictKeys
        #expect(keys.count == 344)
        #expect(Set(keys.map(\.name)).count == keys.count)
        let mids = [(64, 64), (64, 128), (128, 128), (128, 256), (256, 256), (256, 512), (512, 512)].map { R2Plus1D18.midPlanes($0.0, $0.1) }
        #expect(mids == [144, 230, 288, 460, 576, 921, 1152])
        func params(_ prefix: String) -> Int {
            keys.filter { $0.name.hasPrefix(prefix) && $0.dtype == "float32" && !$0.name.contains("running_") }
                .reduce(0) { $0 + $1.shape.reduce(1, *) }
        }
        #expect(params(TSAVBackbones.audioPrefix) == 11_170_240)
        // 31,300,125 for a 3-channel stem; the checkpoint's stem has one more input channel (45·49 weights).
        #expect(params(TSAVBackbones.videoPrefix) == 31_300_125 + 45 * 49)
    }

    /// Writes the synthetic weights with one change and returns the loader's error text.
    func loaderError(_ change: (inout [StateDictKey]) -> Void) throws -> String {
        var keys = try SyntheticWeights.parseKeys(TSAVBackbones.keysText)
        change(&keys)
        // Small stand-ins keep this fast: every float tensor gets its right shape except where changed; data is the rule.
        let data = try SyntheticWeights.writer(for: keys).serialized()
        let dir = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("w.safetensors").path
        try data.write(to: URL(fileURLWithPath: path))
        do { _ = try TSAVBackbones.loadAudio(path); return "" } catch { return "\(error)" }
    }

    @Test("A missing, unexpected or mis-shaped tensor is an error that names it")
    func loaderRejectsBadFiles() throws {
        let missing = try loaderError { $0.removeAll { $0.name == "video_model.r2plus1d.layer3.1.conv2.0.3.weight" } }
        #expect(missing.contains("missing tensor video_model.r2plus1d.layer3.1.conv2.0.3.weight"))
        let extra = try loaderError { $0 += try! SyntheticWeights.parseKeys("audio_model.resnet.fc.weight 2x512 float32") }
        #expect(extra.contains("unexpected tensor audio_model.resnet.fc.weight"))
        let shaped = try loaderError { keys in
            let i = keys.firstIndex { $0.name == "audio_model.resnet.layer2.0.bn1.running_var" }!
            keys[i] = try! SyntheticWeights.parseKeys("audio_model.resnet.layer2.0.bn1.running_var 127 float32")[0]
        }
        #expect(shaped.contains("audio_model.resnet.layer2.0.bn1.running_var has shape (127)"))
        #expect(try loaderError { _ in }.isEmpty)
        // Unused entries (the fusion fc, BatchNorm counters) may be left out; a wrong shape is still an error.
        #expect(try loaderError { $0.removeAll { $0.name.hasPrefix("fc.1.") || $0.name.hasSuffix("num_batches_tracked") } }.isEmpty)
        let fc = try loaderError { keys in
            let i = keys.firstIndex { $0.name == "fc.1.weight" }!
            keys[i] = try! SyntheticWeights.parseKeys("fc.1.weight 17x512 float32")[0]
        }
        #expect(fc.contains("fc.1.weight has shape (17,512)"))
    }
}
