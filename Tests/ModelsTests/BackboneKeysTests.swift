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
    }
}
