import Foundation
import Kernels
import Models

/// A complete model: the TSAV backbones and one fusion head. Immutable once loaded: one per process, shared by
/// every input and run.
// @unchecked: every stored property is a `let` of weights that nothing writes after loading.
public final class EmotionModel: @unchecked Sendable {
    public let visual: R2Plus1D18
    public let audio: ResNet18
    public let head: any FusionHead
    public let backbonesPath: String
    public let headPath: String
    /// True when the weights were made by the synthetic rule (tests and demos): the numbers mean nothing.
    public let synthetic: Bool
    /// The arithmetic of the backbones' convolutions (fp32 = exact; see `docs/performance.md`).
    public let precision: Precision

    public init(backbones: String, head spec: HeadSpec, headWeights: String) throws {
        let (v, a) = try TSAVBackbones.load(backbones)
        visual = v
        audio = a
        head = try FusionHeads.load(spec, path: headWeights)
        backbonesPath = backbones
        headPath = headWeights
        let meta = (try? SafeTensorsFile(path: backbones).metadata) ?? [:]
        synthetic = meta["rule"] == "synth.py"
        precision = .fp32
    }

    /// The same model with both backbones' convolutions converted to `precision` once, here (the head and the fp32
    /// weights are shared; `fp32` gives the exact model back).
    public init(_ other: EmotionModel, precision: Precision) {
        visual = other.precision == precision ? other.visual : R2Plus1D18(other.visual, precision: precision)
        audio = other.precision == precision ? other.audio : ResNet18(other.audio, precision: precision)
        head = other.head
        backbonesPath = other.backbonesPath
        headPath = other.headPath
        synthetic = other.synthetic
        self.precision = precision
    }

    /// The same backbones with another head (e.g. to compare heads on the same features).
    public init(_ other: EmotionModel, head: any FusionHead, headPath: String) {
        visual = other.visual
        audio = other.audio
        self.head = head
        backbonesPath = other.backbonesPath
        self.headPath = headPath
        synthetic = other.synthetic
        precision = other.precision
    }

    /// Loads the model `ModelLocator` found.
    public convenience init(_ found: ModelLocator.Found) throws {
        try self.init(backbones: found.backbones, head: found.head, headWeights: found.headWeights)
    }

    /// Finds (`ModelLocator`) and loads a model: a model folder, or $EMOPIPE_MODEL when `folder` is nil.
    public convenience init(folder: String?, head: HeadSpec? = nil) throws {
        try self.init(try ModelLocator.resolve(backbones: nil, head: head, headWeights: nil, folder: folder))
    }

    /// True when the head takes the 512-d per-channel maximum of layer4 (JMT) instead of the 25088-d map.
    public var visualIsMaxPooled: Bool { head.visualFeatures == 512 }
}
