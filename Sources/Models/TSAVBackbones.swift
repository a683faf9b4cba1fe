import Kernels

/// TSAV's two backbones, as its checkpoint holds them (`TwoStreamAuralVisualModel(num_channels=4)`, kuhnkeF/ABAW2020TNT):
/// one safetensors file keyed by the official names — `audio_model.resnet.*` (ResNet-18), `video_model.r2plus1d.*`
/// (R(2+1)D-18 with a 4-channel stem) and the fusion layer `fc.1.*`, which emopipe does not run. The key list, the
/// converter's check and the loader all come from `declare`; `quirks` lists how a file may differ (docs/weights.md).
public enum TSAVBackbones {
    public static let audioPrefix = "audio_model.resnet."
    public static let videoPrefix = "video_model.r2plus1d."

    /// The checkpoint's module tree, in state-dict order.
    static func declare(_ p: ParameterScope) -> (visual: R2Plus1D18, audio: ResNet18) {
        let audio = ResNet18(p.scope("audio_model").scope("resnet"))
        let visual = R2Plus1D18(p.scope("video_model").scope("r2plus1d"), stemInputChannels: 4)
        // `fc` = Sequential(Dropout, Linear(1024 → 17)): TSAV's own 17-way head, not part of any fusion model.
        _ = Linear(p.scope("fc").scope("1").unused, in: 1024, out: 17)
        return (visual, audio)
    }

    /// The stem's mask channel is cut (the fusion models use channels 0–2, nothing rescaled); `fc.1.*` and the
    /// BatchNorm counters may be absent.
    public static let quirks = CheckpointQuirks(mayBeAbsentPrefixes: ["fc.1."], mayBeAbsentSuffixes: [".num_batches_tracked"],
                                                keptInputChannels: [videoPrefix + "stem.0.weight": 3])

    /// Every key of the TSAV checkpoint with its shape and dtype, in state-dict order (equals `shared/parity/tsav.keys.txt`).
    public static var stateDictKeys: [StateDictKey] {
        let store = ParameterStore.shapesOnly()
        _ = declare(store.root)
        return store.declared
    }

    /// Both backbones from a file: the whole file is checked first (every missing, unexpected, mis-shaped, wrongly
    /// typed or non-finite tensor is named in one `WeightsError`).
    public static func load(file: SafeTensorsFile) throws -> (visual: R2Plus1D18, audio: ResNet18) {
        let store = ParameterStore.reading(file, quirks: quirks)
        let models = declare(store.root)
        try store.finish()
        return models
    }

    public static func load(_ path: String) throws -> (visual: R2Plus1D18, audio: ResNet18) {
        let file: SafeTensorsFile
        do { file = try SafeTensorsFile(path: path) } catch { throw WeightsError("\(error)") }
        return try load(file: file)
    }

    public static func loadVisual(_ path: String) throws -> R2Plus1D18 { try load(path).visual }
    public static func loadAudio(_ path: String) throws -> ResNet18 { try load(path).audio }
}
