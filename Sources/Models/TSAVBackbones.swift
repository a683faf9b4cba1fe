import Kernels

/// Loads TSAV's two backbones from ONE safetensors file keyed by the official checkpoint names
/// (`audio_model.resnet.*`, `video_model.r2plus1d.*`; `fc.1.*` and `num_batches_tracked` are ignored).
/// The whole file is checked first: a missing, unexpected or mis-shaped tensor is an error naming it.
public enum TSAVBackbones {
    public static let audioPrefix = "audio_model.resnet."
    public static let videoPrefix = "video_model.r2plus1d."

    /// Every key of the TSAV checkpoint with its shape, in state_dict order, generated from the architecture
    /// (equals `shared/parity/tsav.keys.txt`).
    public static var stateDictKeys: [StateDictKey] {
        ResNet18.stateDictKeys(prefix: audioPrefix)
            + R2Plus1D18.stateDictKeys(prefix: videoPrefix, stemInputChannels: 4)
            + [StateDictKey("fc.1.weight", [17, 1024]), StateDictKey("fc.1.bias", [17])]
    }

    /// The keys as the lines of a `*.keys.txt` file.
    public static var keysText: String { stateDictKeys.map(\.line).joined(separator: "\n") + "\n" }

    public static func open(_ path: String) throws -> StateDictReader {
        let file: SafeTensorsFile
        do { file = try SafeTensorsFile(path: path) } catch { throw WeightsError("\(error)") }
        let reader = StateDictReader(file)
        // A stem already sliced to RGB (45,3,1,7,7) is accepted too. The fusion layer `fc.1.*` and the BatchNorm
        // counters `num_batches_tracked` are not used, so they may be absent (but are checked when present).
        try reader.validate(against: stateDictKeys, allowingShapes: [videoPrefix + "stem.0.weight": [[45, 3, 1, 7, 7]]],
                            optional: { $0.name.hasPrefix("fc.1.") || $0.name.hasSuffix(".num_batches_tracked") })
        return reader
    }

    public static func loadVisual(_ path: String) throws -> R2Plus1D18 { try R2Plus1D18(open(path), prefix: videoPrefix) }
    public static func loadAudio(_ path: String) throws -> ResNet18 { try ResNet18(open(path), prefix: audioPrefix) }

    public static func load(_ path: String) throws -> (visual: R2Plus1D18, audio: ResNet18) {
        let r = try open(path)
        return (try R2Plus1D18(r, prefix: videoPrefix), try ResNet18(r, prefix: audioPrefix))
    }
}
