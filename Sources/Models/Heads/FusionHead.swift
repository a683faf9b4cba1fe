import Kernels

/// A fusion head: per sequence of L clips, audio features (B, L, 512) and visual features (B, L, 25088), or
/// (B, L, 512) for JMT, → valence and arousal (B, L). Inputs are L2-normalised inside, as in the references.
public protocol FusionHead: Sendable {
    var spec: HeadSpec { get }
    /// Canonical name (`HeadSpec.name`).
    var name: String { get }
    /// Size of the last axis of `visual`.
    var visualFeatures: Int { get }
    /// L when the weights fix it (16 for heads with joint cross-attention key layers), else nil.
    var requiredSequenceLength: Int? { get }
    func forward(audio: Tensor, visual: Tensor, threads: Int) throws -> (valence: Tensor, arousal: Tensor)
}

/// A wrong input to a head (shapes).
public struct HeadInputError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

extension FusionHead {
    public func validateInputs(audio: Tensor, visual: Tensor) throws {
        guard audio.rank == 3, audio.shape[2] == 512 else {
            throw HeadInputError("head \(name): audio must be (B, L, 512), got \(Tensor.shapeString(audio.shape))")
        }
        guard visual.rank == 3, visual.shape[2] == visualFeatures else {
            throw HeadInputError("head \(name): visual must be (B, L, \(visualFeatures)), got \(Tensor.shapeString(visual.shape))"
                                 + (visualFeatures == 512 ? " (JMT takes the per-channel max of layer4, 512-d)" : ""))
        }
        guard audio.shape[0] == visual.shape[0], audio.shape[1] == visual.shape[1] else {
            throw HeadInputError("head \(name): audio \(Tensor.shapeString(audio.shape)) and visual "
                                 + "\(Tensor.shapeString(visual.shape)) differ in batch or sequence length")
        }
        guard audio.shape[1] > 0 else { throw HeadInputError("head \(name): empty sequence") }
        if let l = requiredSequenceLength, audio.shape[1] != l {
            throw HeadInputError("head \(name): sequences must have L = \(l) clips (its key layers are \(l)×\(l)), got \(audio.shape[1])")
        }
    }
}

/// The head registry: builds heads by `HeadSpec`, lists their expected parameters, loads weights files.
public enum FusionHeads {
    /// Builds a head, taking every parameter from `p`.
    public static func make(_ spec: HeadSpec, _ p: ParameterScope) -> any FusionHead {
        switch spec.architecture {
        case .crossAttention: CrossAttentionHead(spec, p)
        case .jointMultimodalTransformer: JMTHead(p)
        }
    }

    /// Every parameter the head has, by official name and shape, in construction order
    /// (generated from the layer structure; equal as a set to `shared/parity/head_*.keys.txt`).
    public static func expectedParameters(_ spec: HeadSpec) -> [StateDictKey] {
        let store = ParameterStore.shapesOnly()
        _ = make(spec, store.root)
        return store.declared
    }

    /// The expected parameters as `*.keys.txt` entries (all float32), e.g. for `SyntheticWeights.writer(for:)`.
    public static func expectedKeys(_ spec: HeadSpec) -> [StateDictKey] { expectedParameters(spec) }

    /// Loads a head from a safetensors file keyed by the official state-dict names (`module.` prefixes removed).
    /// A file made for another head is refused (by its `head` metadata, or by its key set matching another head);
    /// otherwise every missing, mis-shaped, non-float, non-finite or unexpected tensor is an error naming it.
    public static func load(_ spec: HeadSpec, file: SafeTensorsFile) throws -> any FusionHead {
        if let declared = file.metadata["head"] {
            if let other = HeadSpec(name: declared) {
                guard other == spec else {
                    throw WeightsError(file: file.path, problem: "holds the weights of head '\(other.name)' (metadata head=\(declared)), not '\(spec.name)'",
                                       fix: "pass --head \(other.name) or the right weights file")
                }
            }
        }
        let store = ParameterStore.reading(file)
        let head = make(spec, store.root)
        do {
            try store.finish()
        } catch {
            let names = Set(store.fileNames)
            for kind in HeadKind.allCases where kind.spec != spec {
                if Set(expectedParameters(kind.spec).map(\.name)) == names {
                    throw WeightsError(file: file.path, problem: "holds the weights of head '\(kind.rawValue)', not '\(spec.name)'",
                                       fix: "pass --head \(kind.rawValue) or the right weights file")
                }
            }
            throw error
        }
        return head
    }

    public static func load(_ spec: HeadSpec, path: String) throws -> any FusionHead {
        try load(spec, file: try SafeTensorsFile(path: path))
    }
}
