import Foundation
import Kernels
import Models

/// A model folder whose weights follow the synthetic rule of `shared/parity/reference/synth.py`: what the tests and
/// the offline demo run, since the published weights cannot be shipped. Its outputs carry no meaning.
public enum SyntheticModel {
    public static func write(folder: String, head spec: HeadSpec, salt: String = "") throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try SyntheticWeights.writer(for: TSAVBackbones.stateDictKeys, salt: salt, metadata: ["kind": "tsav", "synthetic": "true"])
            .write(to: (folder as NSString).appendingPathComponent(ModelLocator.backbonesFile))
        try SyntheticWeights.writer(for: FusionHeads.expectedKeys(spec), salt: salt,
                                    metadata: ["kind": "head", "head": spec.name, "synthetic": "true"])
            .write(to: (folder as NSString).appendingPathComponent("head_\(spec.name).safetensors"))
    }
}
