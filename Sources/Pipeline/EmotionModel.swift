import Foundation
import Kernels
import Models

/// A complete model: the TSAV backbones and one fusion head.
public final class EmotionModel: @unchecked Sendable {
    public let visual: R2Plus1D18
    public let audio: ResNet18
    public let head: any FusionHead
    public let backbonesPath: String
    public let headPath: String
    /// True when the weights were made by the synthetic rule (tests and demos): the numbers mean nothing.
    public let synthetic: Bool

    public init(backbones: String, head spec: HeadSpec, headWeights: String) throws {
        let (v, a) = try TSAVBackbones.load(backbones)
        visual = v
        audio = a
        head = try FusionHeads.load(spec, path: headWeights)
        backbonesPath = backbones
        headPath = headWeights
        let meta = (try? SafeTensorsFile(path: backbones).metadata) ?? [:]
        synthetic = meta["rule"] == "synth.py"
    }

    /// True when the head takes the 512-d per-channel maximum of layer4 (JMT) instead of the 25088-d map.
    public var visualIsMaxPooled: Bool { head.visualFeatures == 512 }
}
