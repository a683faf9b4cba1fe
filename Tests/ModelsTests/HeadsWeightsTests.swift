import Foundation
import Testing
import Kernels
import Models
import TestSupport

/// Loading heads from weights files: every wrong, missing, unexpected or mis-shaped tensor is an error naming it,
/// and a file of one head given as another is refused. Needs no shared/ (keys come from the layer structure).
@Suite(.serialized) struct HeadsWeightsTests {
    func writer(_ spec: HeadSpec, head: String? = nil) -> SafeTensorsWriter {
        SyntheticWeights.writer(for: FusionHeads.expectedKeys(spec), salt: "", metadata: head.map { ["head": $0] } ?? [:])
    }

    func load(_ spec: HeadSpec, _ w: SafeTensorsWriter) throws -> any FusionHead {
        try FusionHeads.load(spec, file: try SafeTensorsFile(data: try w.serialized(), path: "test.safetensors"))
    }

    func loadError(_ spec: HeadSpec, _ w: SafeTensorsWriter) -> String? {
        do { _ = try load(spec, w); return nil } catch { return "\(error)" }
    }

    @Test func ownWeightsLoad() throws {
        let head = try load(.ca, writer(.ca, head: "ca"))
        #expect(head.name == "ca")
        #expect(head.visualFeatures == 25088)
    }

    @Test func missingTensorIsNamed() {
        var w = writer(.ca)
        w.items.removeAll { $0.name == "coattn.corr_weights" }
        let message = loadError(.ca, w)
        #expect(message?.contains("missing tensor coattn.corr_weights") == true, "\(message ?? "no error")")
    }

    @Test func misShapedTensorIsNamed() {
        var w = writer(.ca)
        w.items.removeAll { $0.name == "Joint.linear.bias" }
        w.add("Joint.linear.bias", Tensor(zeros: [511]))
        let message = loadError(.ca, w)
        #expect(message?.contains("Joint.linear.bias has shape (511), expected (512)") == true, "\(message ?? "no error")")
    }

    @Test func unexpectedTensorIsNamed() {
        var w = writer(.ca)
        w.add("coattn.extra_weights", Tensor(zeros: [4]))
        let message = loadError(.ca, w)
        #expect(message?.contains("unexpected tensor coattn.extra_weights") == true, "\(message ?? "no error")")
    }

    @Test func dataParallelPrefixIsRemoved() throws {
        let original = writer(.ca)
        var w = SafeTensorsWriter(metadata: original.metadata)
        for item in original.items {
            w.add(.init(name: "module." + item.name, dtype: item.dtype, shape: item.shape, bytes: item.bytes))
        }
        let prefixed = try load(.ca, w), plain = try load(.ca, original)
        let audio = SyntheticWeights.uniformTensor("test:audio", shape: [1, 16, 512])
        let visual = SyntheticWeights.uniformTensor("test:visual", shape: [1, 16, 25088])
        let a = try prefixed.forward(audio: audio, visual: visual, threads: 1)
        let b = try plain.forward(audio: audio, visual: visual, threads: 1)
        #expect(a.valence.array == b.valence.array && a.arousal.array == b.arousal.array)
        // A name present with and without the prefix is ambiguous.
        w.add(.init(name: "coattn.corr_weights", dtype: .f32, shape: [512, 512], bytes: [UInt8](repeating: 0, count: 512 * 512 * 4)))
        let message = loadError(.ca, w)
        #expect(message?.contains("two tensors are named coattn.corr_weights") == true, "\(message ?? "no error")")
    }

    /// A weights file with a NaN or an infinity anywhere — in any float type, in a tensor that is used or in one
    /// that is only checked (JMT's `final_encoder`) — is refused naming the tensor and the file, never run.
    @Test(arguments: [("coattn.corr_weights", SafeTensorsDType.f32, Float.nan), ("vregressor.0.bias", .f16, .infinity),
                      ("Joint.linear.weight", .bf16, -.infinity), ("aregressor.0.bias", .f64, .nan)])
    func nonFiniteTensorIsNamed(_ c: (String, SafeTensorsDType, Float)) throws {
        var w = writer(.ca)
        let i = w.items.firstIndex { $0.name == c.0 }!
        w.items[i] = withValue(w.items[i], at: 3, c.2, as: c.1)
        let message = loadError(.ca, w)
        #expect(message?.hasPrefix("test.safetensors: ") == true, "\(message ?? "no error")")
        #expect(message?.contains("tensor \(c.0) holds a value that is not a finite float32") == true, "\(message ?? "no error")")
        #expect(message?.contains("at element 3") == true, "\(message ?? "no error")")
    }

    @Test func nonFiniteUnusedTensorIsNamed() {
        var w = writer(.jmt)
        let name = "mm_transformer.final_encoder.layers.0.attention.in_proj_weight"
        let i = w.items.firstIndex { $0.name == name }!
        w.items[i] = withValue(w.items[i], at: 0, .infinity, as: .f32)
        let message = loadError(.jmt, w)
        #expect(message?.contains("tensor \(name) holds a value that is not a finite float32") == true, "\(message ?? "no error")")
    }

    @Test func float64BeyondFloat32IsRefused() {
        var w = writer(.ca)
        let i = w.items.firstIndex { $0.name == "vregressor.3.bias" }!
        var bytes = [UInt8](repeating: 0, count: 8)
        bytes.withUnsafeMutableBytes { $0.storeBytes(of: (1e300 as Double).bitPattern.littleEndian, as: UInt64.self) }
        w.items[i] = .init(name: "vregressor.3.bias", dtype: .f64, shape: [1], bytes: bytes)
        let message = loadError(.ca, w)
        #expect(message?.contains("tensor vregressor.3.bias holds a value that is not a finite float32") == true, "\(message ?? "no error")")
    }

    @Test func nonFloatTensorIsNamed() {
        var w = writer(.ca)
        w.items.removeAll { $0.name == "vregressor.3.bias" }
        w.add(.init("vregressor.3.bias", int64: [0], shape: [1]))
        let message = loadError(.ca, w)
        #expect(message?.contains("vregressor.3.bias is I64") == true, "\(message ?? "no error")")
    }

    /// JMT's never-used `final_encoder` is still required (strict loading, as the reference).
    @Test func unusedJMTEncoderIsStillRequired() {
        var w = writer(.jmt)
        w.items.removeAll { $0.name == "mm_transformer.final_encoder.layers.0.layer_norm2.bias" }
        let message = loadError(.jmt, w)
        #expect(message?.contains("missing tensor mm_transformer.final_encoder.layers.0.layer_norm2.bias") == true,
                "\(message ?? "no error")")
    }

    @Test func otherHeadByMetadataIsRefused() {
        let message = loadError(.iaca, writer(.dca, head: "dca"))
        #expect(message?.contains("holds the weights of head 'dca'") == true, "\(message ?? "no error")")
    }

    @Test func otherHeadByKeySetIsRefused() {
        // No metadata: RJCA weights given as JCA, and JCA's given as RJCA, are recognised by their key sets.
        let m1 = loadError(.jca, writer(.rjca))
        #expect(m1?.contains("holds the weights of head 'rjca'") == true, "\(m1 ?? "no error")")
        let m2 = loadError(.rjca, writer(.jca))
        #expect(m2?.contains("holds the weights of head 'jca'") == true, "\(m2 ?? "no error")")
    }

    @Test func metadataNamingTheSameHeadDifferentlyIsAccepted() throws {
        // `rjca+iaca` is the canonical `iaca`.
        let head = try load(HeadSpec(name: "rjca+iaca")!, writer(.iaca, head: "iaca"))
        #expect(head.name == "iaca")
    }

    @Test func namesParse() {
        #expect(HeadSpec(name: "rjca+iaca") == .iaca)
        #expect(HeadSpec(name: "rjca+dca") == .dca)
        #expect(HeadSpec(name: "RJCA") == .rjca)
        #expect(HeadSpec(name: "rjca1") == .rjca)
        #expect(HeadSpec(name: "rjca1+iaca")?.name == "rjca1+iaca")
        #expect(HeadSpec(name: "ca+iaca") == HeadSpec(trunk: .recurrent, block: .vanilla, fusion: .twoStageGate))
        #expect(HeadSpec(name: "tca+dca")?.name == "tca+dca")
        #expect(HeadSpec(name: "jca+iaca") == HeadSpec(trunk: .plain, block: .joint(layers: 1), fusion: .twoStageGate))
        for bad in ["", "foo", "ca+", "+iaca", "ca+jca", "ca+iaca+dca", "rjca0", "rjcax", "jmt+iaca"] {
            #expect(HeadSpec(name: bad) == nil, "\(bad)")
        }
        for kind in HeadKind.allCases { #expect(HeadSpec(name: kind.rawValue)?.name == kind.rawValue) }
    }

    /// Compositions need no new code: their key lists are the union of their parts.
    @Test func compositionKeysAreTheParts() {
        let names = Set(FusionHeads.expectedParameters(HeadSpec(name: "ca+iaca")!).map(\.name))
        #expect(names.contains("coattn.corr_weights"))
        #expect(names.contains("joint_fc.weight") && names.contains("av_gating_fc_layer.bias"))
        #expect(!names.contains { $0.hasPrefix("Joint.") })
        let tcaDCA = Set(FusionHeads.expectedParameters(HeadSpec(name: "tca+dca")!).map(\.name))
        #expect(tcaDCA.contains("coattn.v_from_a.in_proj_weight") && tcaDCA.contains("video_gating_fc_layer.weight"))
        #expect(tcaDCA.contains("Joint.linear.weight"))
    }

    @Test func badInputShapesAreErrors() throws {
        let head = try load(.jca, writer(.jca))
        let audio = Tensor(zeros: [1, 8, 512]), visual = Tensor(zeros: [1, 8, 25088])
        #expect(throws: HeadInputError.self) { _ = try head.forward(audio: audio, visual: visual, threads: 2) }   // L = 8, not 16
        #expect(throws: HeadInputError.self) {
            _ = try head.forward(audio: Tensor(zeros: [1, 16, 512]), visual: Tensor(zeros: [1, 16, 512]), threads: 2)
        }
        #expect(throws: HeadInputError.self) {
            _ = try head.forward(audio: Tensor(zeros: [2, 16, 512]), visual: Tensor(zeros: [1, 16, 25088]), threads: 2)
        }
    }

    /// A composed head runs end to end; a sequence's outputs never depend on the other batch items.
    @Test func composedHeadRunsAndBatchItemsAreIndependent() throws {
        let head = try load(HeadSpec(name: "tca+iaca")!, writer(HeadSpec(name: "tca+iaca")!))
        let audio = SyntheticWeights.uniformTensor("test:audio", shape: [2, 16, 512])
        let visual = SyntheticWeights.uniformTensor("test:visual", shape: [2, 16, 25088])
        let both = try head.forward(audio: audio, visual: visual, threads: 2)
        #expect(both.valence.shape == [2, 16] && both.arousal.shape == [2, 16])
        let values = both.valence.array + both.arousal.array
        #expect(values.allSatisfy { $0.isFinite })
        let second = try head.forward(audio: audio.slice(first: 1, count: 1), visual: visual.slice(first: 1, count: 1), threads: 2)
        #expect(maxAbsDifference(second.valence, both.valence.slice(first: 1, count: 1)) < 1e-5)
        #expect(maxAbsDifference(second.arousal, both.arousal.slice(first: 1, count: 1)) < 1e-5)
    }

    /// Missing audio is zeros (no audio stream); a missing face gives zero-ish features. Neither may produce NaN
    /// (the L2 normalisation's eps keeps zero vectors zero).
    @Test(arguments: HeadKind.allCases)
    func zeroInputsGiveFiniteOutputs(kind: HeadKind) throws {
        let head = try load(kind.spec, writer(kind.spec))
        let visual = SyntheticWeights.uniformTensor("test:visual", shape: [1, 16, head.visualFeatures])
        for (a, v) in [(Tensor(zeros: [1, 16, 512]), visual), (Tensor(zeros: [1, 16, 512]), Tensor(zeros: [1, 16, head.visualFeatures]))] {
            let out = try head.forward(audio: a, visual: v, threads: 2)
            #expect((out.valence.array + out.arousal.array).allSatisfy { $0.isFinite }, "\(kind)")
        }
    }
}

/// `item` converted to `dtype` (values of the float32 item), with element `index` set to `value`.
func withValue(_ item: SafeTensorsWriter.Item, at index: Int, _ value: Float, as dtype: SafeTensorsDType) -> SafeTensorsWriter.Item {
    precondition(item.dtype == .f32)
    var values = item.bytes.withUnsafeBytes { raw in
        (0..<item.bytes.count / 4).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
    }
    values[index] = value
    var bytes: [UInt8] = []
    for v in values {
        switch dtype {
        case .f32: withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes += $0 }
        case .f64: withUnsafeBytes(of: Double(v).bitPattern.littleEndian) { bytes += $0 }
        case .bf16: withUnsafeBytes(of: UInt16(truncatingIfNeeded: v.bitPattern >> 16).littleEndian) { bytes += $0 }
        case .f16: withUnsafeBytes(of: Float16(v).bitPattern.littleEndian) { bytes += $0 }
        default: preconditionFailure("not a float type")
        }
    }
    return SafeTensorsWriter.Item(name: item.name, dtype: dtype, shape: item.shape, bytes: bytes)
}
