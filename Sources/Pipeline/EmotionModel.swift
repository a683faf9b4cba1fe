import Foundation
import Kernels
import Models

/// A complete model: the TSAV backbones and one fusion head — or several heads run on one pass of the backbones,
/// or none (the features alone, `emopipe features`). Immutable once loaded: one per process, shared by every input
/// and run.
// @unchecked: every stored property is a `let` of weights that nothing writes after loading.
public final class EmotionModel: @unchecked Sendable {
    public let visual: R2Plus1D18
    public let audio: ResNet18
    /// The heads, in the order their columns appear.
    public let heads: [any FusionHead]
    public let backbonesPath: String
    public let headPaths: [String]
    /// True when the weights were made by the synthetic rule (tests and demos): the numbers mean nothing.
    public let synthetic: Bool
    /// The arithmetic of the backbones' convolutions (fp32 = exact; see `docs/performance.md`).
    public let precision: Precision

    public convenience init(backbones: String, head spec: HeadSpec, headWeights: String) throws {
        try self.init(backbones: backbones, heads: [(spec, headWeights)])
    }

    /// The backbones and the heads (each with its weights file; none for the features alone).
    public init(backbones: String, heads: [(HeadSpec, String)]) throws {
        let (v, a) = try TSAVBackbones.load(backbones)
        visual = v
        audio = a
        self.heads = try heads.map { try FusionHeads.load($0.0, path: $0.1) }
        backbonesPath = backbones
        headPaths = heads.map(\.1)
        let meta = (try? SafeTensorsFile(path: backbones).metadata) ?? [:]
        synthetic = meta["rule"] == "synth.py"
        precision = .fp32
    }

    /// The same model with both backbones' convolutions converted to `precision` once, here (the heads and the fp32
    /// weights are shared; `fp32` gives the exact model back).
    public init(_ other: EmotionModel, precision: Precision) {
        visual = other.precision == precision ? other.visual : R2Plus1D18(other.visual, precision: precision)
        audio = other.precision == precision ? other.audio : ResNet18(other.audio, precision: precision)
        heads = other.heads
        backbonesPath = other.backbonesPath
        headPaths = other.headPaths
        synthetic = other.synthetic
        self.precision = precision
    }

    /// The same backbones with another head (e.g. to compare heads on the same features).
    public init(_ other: EmotionModel, head: any FusionHead, headPath: String) {
        visual = other.visual
        audio = other.audio
        heads = [head]
        backbonesPath = other.backbonesPath
        headPaths = [headPath]
        synthetic = other.synthetic
        precision = other.precision
    }

    /// The (first) head.
    public var head: any FusionHead { heads[0] }
    public var headPath: String { headPaths[0] }
    /// The heads' names joined by commas (`jca,dca,jmt`).
    public var headNames: String { heads.map(\.name).joined(separator: ",") }

    /// Loads the model `ModelLocator` found.
    public convenience init(_ found: ModelLocator.Found) throws {
        try self.init(backbones: found.backbones, head: found.head, headWeights: found.headWeights)
    }

    /// Finds (`ModelLocator`) and loads a model: a model folder, or $EMOPIPE_MODEL when `folder` is nil.
    public convenience init(folder: String?, head: HeadSpec? = nil) throws {
        try self.init(try ModelLocator.resolve(backbones: nil, head: head, headWeights: nil, folder: folder))
    }

    /// True when every head takes the 512-d per-channel maximum of layer4 (JMT) instead of the 25088-d map (then
    /// the backbone gives only the maxima); false when any head takes the map, or there is no head (the features
    /// cache keeps the map, and the maxima made from it).
    public var visualIsMaxPooled: Bool { !heads.isEmpty && heads.allSatisfy { $0.visualFeatures == 512 } }
}
