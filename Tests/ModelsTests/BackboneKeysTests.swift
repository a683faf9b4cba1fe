import Foundation
import Testing
import Kernels
import Models
import TestSupport

/// The TSAV weights generated once per test process by the synth.py rule over the architecture's own key list.
enum SyntheticTSAV {
    static let writer = SyntheticWeights.writer(for: TSAVBackbones.stateDictKeys)
    static let data: Data = try! writer.serialized()
    static let models = try! TSAVBackbones.load(file: SafeTensorsFile(data: data, path: "<synthetic tsav>"))
    static var visual: R2Plus1D18 { models.visual }
    static var audio: ResNet18 { models.audio }
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

@Suite("TSAV checkpoint keys and loader checks", .serialized)
struct BackboneKeysTests {
    @Test("Generated key list equals shared/parity/tsav.keys.txt", .enabled(if: TestPaths.parityAvailable))
    func keysMatchShared() throws {
        #expect(TSAVBackbones.stateDictKeys == (try TestPaths.parityKeys("tsav.keys.txt")))
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

    /// The synthetic weights with `change` applied to their items, loaded from memory: the loader's error text, or "".
    func loaderError(_ change: (inout [SafeTensorsWriter.Item]) -> Void) -> String {
        var w = SyntheticTSAV.writer
        change(&w.items)
        do { _ = try TSAVBackbones.load(file: SafeTensorsFile(data: w.serialized(), path: "w.safetensors")); return "" } catch {
            return "\(error)"
        }
    }

    func replacing(_ name: String, _ items: inout [SafeTensorsWriter.Item], with item: SafeTensorsWriter.Item) {
        items[items.firstIndex { $0.name == name }!] = item
    }

    @Test("A missing, unexpected or mis-shaped tensor is an error that names it and the file")
    func loaderRejectsBadFiles() throws {
        let missing = loaderError { $0.removeAll { $0.name == "video_model.r2plus1d.layer3.1.conv2.0.3.weight" } }
        #expect(missing.hasPrefix("w.safetensors: "))
        #expect(missing.contains("missing tensor video_model.r2plus1d.layer3.1.conv2.0.3.weight"))
        let extra = loaderError { $0.append(.init("audio_model.resnet.fc.weight", Tensor(zeros: [2, 512]))) }
        #expect(extra.contains("unexpected tensor audio_model.resnet.fc.weight"))
        let shaped = loaderError { replacing("audio_model.resnet.layer2.0.bn1.running_var", &$0, with: .init("audio_model.resnet.layer2.0.bn1.running_var", Tensor(zeros: [127]))) }
        #expect(shaped.contains("audio_model.resnet.layer2.0.bn1.running_var has shape (127)"))
        #expect(loaderError { _ in }.isEmpty)
        // Unused entries (the fusion fc, BatchNorm counters) may be left out; a wrong shape is still an error.
        #expect(loaderError { $0.removeAll { $0.name.hasPrefix("fc.1.") || $0.name.hasSuffix("num_batches_tracked") } }.isEmpty)
        let fc = loaderError { replacing("fc.1.weight", &$0, with: .init("fc.1.weight", Tensor(zeros: [17, 512]))) }
        #expect(fc.contains("fc.1.weight has shape (17,512)"))
    }

    /// Fault 4: integer tensors used to be read as floats; they are refused, as by the heads' loader.
    @Test("An integer weight, or a float BatchNorm counter, is refused naming its dtype")
    func wrongDTypes() {
        let name = "audio_model.resnet.layer1.0.conv1.weight"
        let asInt = loaderError { items in
            let t = SyntheticWeights.parameter(name, shape: [64, 64, 3, 3])
            replacing(name, &items, with: .init(name, int64: t.array.map { Int64($0 * 1000) }, shape: [64, 64, 3, 3]))
        }
        #expect(asInt.contains("tensor \(name) is I64, expected a float type"), "\(asInt)")
        let counter = "video_model.r2plus1d.stem.1.num_batches_tracked"
        let floatCounter = loaderError { replacing(counter, &$0, with: .init(counter, Tensor(zeros: []))) }
        #expect(floatCounter.contains("tensor \(counter) is F32, expected I64"), "\(floatCounter)")
        // A counter stored as shape (1) by some exporters is fine.
        #expect(loaderError { replacing(counter, &$0, with: .init(counter, int64: [7], shape: [1])) }.isEmpty)
    }

    /// Fault 3: a NaN or an infinity anywhere in the weights is refused at load, naming the tensor and the file.
    @Test("A non-finite value in any tensor (used or only checked) is named")
    func nonFiniteValues() {
        for (name, value) in [("video_model.r2plus1d.layer4.1.conv2.1.running_var", Float.nan), ("audio_model.resnet.conv1.weight", .infinity),
                              ("fc.1.bias", -.infinity)] {
            let message = loaderError { items in
                let i = items.firstIndex { $0.name == name }!
                items[i] = withValue(items[i], at: 0, value, as: .f32)
            }
            #expect(message.hasPrefix("w.safetensors: "), "\(message)")
            #expect(message.contains("tensor \(name) holds a value that is not a finite float32"), "\(message)")
        }
    }

    /// The sanitize step: `module.` prefixes and a stem already cut to RGB load to the same network.
    @Test("module. prefixes and a 3-channel stem give the same outputs as the checkpoint layout")
    func quirksGiveTheSameNetwork() throws {
        var w = SyntheticTSAV.writer
        w.items = w.items.map { .init(name: "module." + $0.name, dtype: $0.dtype, shape: $0.shape, bytes: $0.bytes) }
        let stemName = "module." + TSAVBackbones.videoPrefix + "stem.0.weight"
        let stem = try SafeTensorsFile(data: SyntheticTSAV.data).tensor(TSAVBackbones.videoPrefix + "stem.0.weight")
        let rgb = Tensor(zeros: [45, 3, 1, 7, 7])
        for o in 0..<45 { for c in 0..<3 { for k in 0..<49 { rgb[(o * 3 + c) * 49 + k] = stem[(o * 4 + c) * 49 + k] } } }
        replacing(stemName, &w.items, with: .init(stemName, rgb))
        let (visual, audio) = try TSAVBackbones.load(file: SafeTensorsFile(data: w.serialized(), path: "quirks.safetensors"))
        let clip = SyntheticWeights.uniformTensor("test:clip", shape: [1, 3, 8, 32, 32])
        let spec = SyntheticWeights.uniformTensor("test:spectrogram", shape: [1, 1, 64, 20])
        #expect(try visual.forward(clip, threads: 2).layer4.array == SyntheticTSAV.visual.forward(clip, threads: 2).layer4.array)
        #expect(try audio.forward(spec, threads: 2).array == SyntheticTSAV.audio.forward(spec, threads: 2).array)
    }
}
