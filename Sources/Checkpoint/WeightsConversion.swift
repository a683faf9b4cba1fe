import Foundation
import Kernels
import Models

/// What a converted weights file holds.
public enum WeightsKind: String, Sendable, CaseIterable {
    /// The TSAV backbones (`audio_model.resnet.*`, `video_model.r2plus1d.*`, `fc.1.*`).
    case tsav
    /// One fusion head (CA, JCA, RJCA, DCA, IACA, TCA or JMT).
    case head
    /// Any state dict, converted as it is without checking names or shapes (for inspection and debugging).
    case unchecked
}

/// The official names, shapes and dtypes emopipe's models expect, generated from the models' own structure
/// (`TSAVBackbones.stateDictKeys`, `FusionHeads.expectedParameters`): the lists the loaders check against.
public enum ExpectedKeys {
    public static let headNames = HeadKind.allCases.map(\.rawValue)

    /// The keys of the TSAV checkpoint, in state-dict order.
    public static func tsav() -> [StateDictKey] { TSAVBackbones.stateDictKeys }

    /// The keys of one head, in state-dict order.
    public static func head(_ name: String) throws -> [StateDictKey] {
        guard let kind = HeadKind(rawValue: name) else {
            throw CheckpointError("unknown head \(name); the heads are \(headNames.joined(separator: ", "))")
        }
        return FusionHeads.expectedKeys(kind.spec)
    }
}

/// Converting a `torch.save` checkpoint to an emopipe safetensors weights file.
public enum WeightsConversion {
    public struct Report: Sendable {
        public let kind: WeightsKind
        public let head: String?
        public let tensorCount: Int
        public let parameterCount: Int
        public let format: TorchCheckpoint.Format
        public let wrapperPath: [String]
        public let strippedModulePrefixes: Int
        public let skipped: [String]
        public let skippedCount: Int
        public let sourceSHA256: String
    }

    /// Decides the kind (and head) of a state dict from its names when not given.
    /// `audio_model.resnet.` / `video_model.r2plus1d.` names mean TSAV; otherwise the head whose key set is
    /// exactly the state dict's; otherwise an error naming the closest head and the differences.
    public static func infer(_ names: [String], kind: WeightsKind?, head: String?, source: String) throws -> (WeightsKind, String?) {
        if let head {
            if let kind, kind != .head { throw CheckpointError("--head \(head) is only meaningful with --kind head") }
            _ = try ExpectedKeys.head(head)
            return (.head, head)
        }
        if let kind, kind != .head { return (kind, nil) }
        if kind == nil, names.contains(where: { $0.hasPrefix("audio_model.resnet.") || $0.hasPrefix("video_model.r2plus1d.") }) {
            return (.tsav, nil)
        }
        let have = Set(names)
        var best: (name: String, missing: [String], extra: [String])?
        for h in ExpectedKeys.headNames {
            let want = (try? ExpectedKeys.head(h)) ?? []
            let wantSet = Set(want.map(\.name))
            if wantSet == have { return (.head, h) }
            let missing = want.map(\.name).filter { !have.contains($0) }
            let extra = names.filter { !wantSet.contains($0) }
            if best == nil || missing.count + extra.count < best!.missing.count + best!.extra.count { best = (h, missing, extra) }
        }
        let b = best!
        let what = kind == .head ? "a fusion head" : "the TSAV backbones or a fusion head"
        throw CheckpointError("\(source): the state dict's \(names.count) names match neither \(what); closest is head \(b.name) with \(b.missing.count) missing (\(sample(b.missing))) and \(b.extra.count) unexpected (\(sample(b.extra))); pass --kind unchecked to convert it anyway")
    }

    static func sample(_ names: [String]) -> String {
        names.isEmpty ? "none" : names.prefix(3).joined(separator: ", ") + (names.count > 3 ? ", …" : "")
    }

    /// Checks names, shapes and dtypes against the expected list and returns the tensors in its order.
    public static func check(_ state: StateDict, against keys: [StateDictKey], what: String, source: String) throws -> [StateDict.Tensor] {
        var byName: [String: StateDict.Tensor] = [:]
        for t in state.tensors { byName[t.name] = t }
        let expectedNames = Set(keys.map(\.name))
        let missing = keys.map(\.name).filter { byName[$0] == nil }
        let extra = state.names.filter { !expectedNames.contains($0) }
        guard missing.isEmpty, extra.isEmpty else {
            throw CheckpointError("\(source): not a complete \(what) state dict: \(missing.count) missing (\(sample(missing))), \(extra.count) unexpected (\(sample(extra)))")
        }
        var ordered: [StateDict.Tensor] = []
        for k in keys {
            let t = byName[k.name]!
            guard t.shape == k.shape else {
                throw CheckpointError("\(source): \(k.name) has shape \(Tensor.shapeString(t.shape)), \(what) needs \(Tensor.shapeString(k.shape))")
            }
            let floating: Set<StorageDType> = [.float32, .float16, .bfloat16, .float64]
            let ok = k.dtype == "int64" ? t.dtype == .int64 : floating.contains(t.dtype)
            guard ok else { throw CheckpointError("\(source): \(k.name) is \(t.dtype.torchName), \(what) needs \(k.dtype)") }
            ordered.append(t)
        }
        return ordered
    }

    static func safetensorsDType(_ d: StorageDType) -> SafeTensorsDType {
        switch d {
        case .float32: .f32
        case .float16: .f16
        case .bfloat16: .bf16
        case .float64: .f64
        case .int64: .i64
        case .int32: .i32
        case .uint8: .u8
        case .bool: .bool
        }
    }

    /// The safetensors writer for a state dict: tensors keep their dtype (F32, F16, BF16, F64, I64, …) and bytes exactly.
    public static func writer(_ tensors: [StateDict.Tensor], metadata: [String: String]) -> SafeTensorsWriter {
        var w = SafeTensorsWriter(metadata: metadata)
        for t in tensors { w.add(.init(name: t.name, dtype: safetensorsDType(t.dtype), shape: t.shape, bytes: t.bytes)) }
        return w
    }

    /// Preprocessing constants recorded beside the TSAV weights (spec README, "Visual path" and "Audio path").
    static let tsavMetadata: [String: String] = [
        "stem_channels": "4",
        "visual_mean": "0.43216,0.394666,0.37645",
        "visual_std": "0.22803,0.22145,0.216989",
        "audio_sample_rate": "44100",
        "audio_norm_mean": "-14.8",
        "audio_norm_std": "19.895",
    ]

    /// Reads `input`, checks it, and writes `output` atomically (nothing is written when anything fails).
    /// `skipUnknownObjects`: keep objects of classes not on the reader's list as inert placeholders instead of
    /// failing (see `PickleLimits.keepUnknownObjectsInert`).
    public static func convert(input: String, output: String, kind: WeightsKind? = nil, head: String? = nil,
                               skipUnknownObjects: Bool = false) throws -> Report {
        var limits = PickleLimits()
        limits.keepUnknownObjectsInert = skipUnknownObjects
        let checkpoint = try TorchCheckpoint(path: input, limits: limits)
        let state = try StateDict(checkpoint)
        let source = URL(fileURLWithPath: input).lastPathComponent
        let (kind, headName) = try infer(state.names, kind: kind, head: head, source: source)
        let tensors: [StateDict.Tensor]
        var metadata: [String: String] = [
            "kind": kind.rawValue,
            "source": source,
            "source_sha256": checkpoint.sha256,
            "source_format": checkpoint.format.rawValue,
            "converter": "emopipe convert",
        ]
        switch kind {
        case .tsav:
            tensors = try check(state, against: ExpectedKeys.tsav(), what: "TSAV", source: source)
            metadata.merge(tsavMetadata) { a, _ in a }
        case .head:
            tensors = try check(state, against: try ExpectedKeys.head(headName!), what: "head \(headName!)", source: source)
            metadata["head"] = headName!
            metadata["sequence_length"] = "16"
        case .unchecked:
            tensors = state.tensors
        }
        try writer(tensors, metadata: metadata).write(to: output)
        let parameters = tensors.reduce(0) { $0 + $1.shape.reduce(1, *) }
        return Report(kind: kind, head: headName, tensorCount: tensors.count, parameterCount: parameters, format: checkpoint.format,
                      wrapperPath: state.wrapperPath, strippedModulePrefixes: state.strippedModulePrefixes,
                      skipped: state.skipped, skippedCount: state.skippedCount, sourceSHA256: checkpoint.sha256)
    }
}
