import Kernels

/// MTCNN's refinement network (facenet-pytorch's `RNet`): 24×24 crops of the P-Net candidates. conv1 3→28 3×3,
/// PReLU, max pool 3×3 stride 2 (ceil), conv2 28→48 3×3, PReLU, max pool 3×3 stride 2 (ceil), conv3 48→64 2×2, PReLU,
/// dense4 576→128, PReLU, then `dense5_1` 128→2 (face / not face, softmax) and `dense5_2` 128→4 (box regression).
public struct RNet: Sendable {
    static let architecture = CropNetwork.Architecture(
        name: "R-Net", inputSize: 24, convolutions: [.init("conv1", "prelu1", [28, 3, 3, 3], pool: 3),
            .init("conv2", "prelu2", [48, 28, 3, 3], pool: 3), .init("conv3", "prelu3", [64, 48, 2, 2], pool: nil)],
        dense: "dense4", densePReLU: "prelu4", hidden: 128, outputs: [.init("dense5_1", 2), .init("dense5_2", 4)])
    /// Its layers, loaded; `network.forward` runs crops of `architecture.inputSize` (rows: the joined outputs).
    let network: CropNetwork

    public init(path: String) throws {
        network = try CropNetwork(Self.architecture, path: path)
    }
}
