import Kernels

/// MTCNN's output network (facenet-pytorch's `ONet`): 48×48 crops of the R-Net boxes. conv1 3→32 3×3, PReLU, max pool
/// 3×3 s2 (ceil), conv2 32→64 3×3, PReLU, max pool 3×3 s2 (ceil), conv3 64→64 3×3, PReLU, max pool 2×2 s2 (ceil),
/// conv4 64→128 2×2, PReLU, dense5 1152→256, PReLU, then `dense6_1` 256→2 (face / not face, softmax), `dense6_2`
/// 256→4 (box regression) and `dense6_3` 256→10 (five landmarks: x of each, then y of each, relative to the box).
public struct ONet: Sendable {
    static let architecture = CropNetwork.Architecture(
        name: "O-Net", inputSize: 48, convolutions: [.init("conv1", "prelu1", [32, 3, 3, 3], pool: 3),
            .init("conv2", "prelu2", [64, 32, 3, 3], pool: 3), .init("conv3", "prelu3", [64, 64, 3, 3], pool: 2),
            .init("conv4", "prelu4", [128, 64, 2, 2], pool: nil)],
        dense: "dense5", densePReLU: "prelu5", hidden: 256,
        outputs: [.init("dense6_1", 2), .init("dense6_2", 4), .init("dense6_3", 10)])
    /// Its layers, loaded; `network.forward` runs crops of `architecture.inputSize` (rows: the joined outputs).
    let network: CropNetwork

    public init(path: String) throws {
        network = try CropNetwork(Self.architecture, path: path)
    }
}
