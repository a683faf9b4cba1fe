import Kernels

/// MTCNN's output network (facenet-pytorch's `ONet`): 48×48 crops of the R-Net boxes. conv1 3→32 3×3, PReLU, max pool
/// 3×3 s2 (ceil), conv2 32→64 3×3, PReLU, max pool 3×3 s2 (ceil), conv3 64→64 3×3, PReLU, max pool 2×2 s2 (ceil),
/// conv4 64→128 2×2, PReLU, dense5 1152→256, PReLU, then `dense6_1` 256→2 (face / not face, softmax), `dense6_2`
/// 256→4 (box regression) and `dense6_3` 256→10 (five landmarks: x of each, then y of each, relative to the box).
public struct ONet: Sendable {
    static let inputSize = 48
    /// Its layers; `dense6_1`, `dense6_2`, `dense6_3` joined as the output: 0–1 face logits, 2–5 regression, 6–15
    /// landmarks.
    let network: CropNetwork

    public init(path: String) throws {
        let r = try MTCNNWeightsReader(path: path, network: "O-Net")
        let stages: [CropNetwork.Stage] = [
            .init(try ConvPReLU(r, conv: "conv1", prelu: "prelu1", [32, 3, 3, 3]), pool: 3),
            .init(try ConvPReLU(r, conv: "conv2", prelu: "prelu2", [64, 32, 3, 3]), pool: 3),
            .init(try ConvPReLU(r, conv: "conv3", prelu: "prelu3", [64, 64, 3, 3]), pool: 2),
            .init(try ConvPReLU(r, conv: "conv4", prelu: "prelu4", [128, 64, 2, 2]), pool: nil),
        ]
        let hidden = try DensePReLU(r, dense: "dense5", prelu: "prelu5", outputs: 256, map: (3, 3, 128))
        let joined = JoinedLayers.stack([
            (try r.tensor("dense6_1.weight", [2, 256]), try r.tensor("dense6_1.bias", [2])),
            (try r.tensor("dense6_2.weight", [4, 256]), try r.tensor("dense6_2.bias", [4])),
            (try r.tensor("dense6_3.weight", [10, 256]), try r.tensor("dense6_3.bias", [10])),
        ])
        network = CropNetwork(name: "O-Net", inputSize: Self.inputSize, stages: stages, hidden: hidden,
                              output: Dense(weight: joined.weight, bias: joined.bias))
        try r.finish()
    }

    /// Runs `count` crops (count × 48 × 48 × 3, normalised). Returns count rows of 16 floats (logits 0–1, regression
    /// 2–5, landmarks 6–15), living in `workspace` until its next use.
    func forward(_ x: UnsafePointer<Float>, count: Int, workspace ws: MTCNNWorkspace, threads: Int) -> UnsafePointer<Float> {
        network.forward(x, count: count, workspace: ws, threads: threads)
    }
}
