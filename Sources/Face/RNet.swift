import Kernels

/// MTCNN's refinement network (facenet-pytorch's `RNet`): 24×24 crops of the P-Net candidates. conv1 3→28 3×3,
/// PReLU, max pool 3×3 stride 2 (ceil), conv2 28→48 3×3, PReLU, max pool 3×3 stride 2 (ceil), conv3 48→64 2×2, PReLU,
/// dense4 576→128, PReLU, then `dense5_1` 128→2 (face / not face, softmax) and `dense5_2` 128→4 (box regression).
public struct RNet: Sendable {
    static let inputSize = 24
    /// Its layers; `dense5_1` and `dense5_2` joined as the output: 0–1 face logits, 2–5 regression.
    let network: CropNetwork

    public init(path: String) throws {
        let r = try MTCNNWeightsReader(path: path, network: "R-Net")
        let stages: [CropNetwork.Stage] = [
            .init(try ConvPReLU(r, conv: "conv1", prelu: "prelu1", [28, 3, 3, 3]), pool: 3),
            .init(try ConvPReLU(r, conv: "conv2", prelu: "prelu2", [48, 28, 3, 3]), pool: 3),
            .init(try ConvPReLU(r, conv: "conv3", prelu: "prelu3", [64, 48, 2, 2]), pool: nil),
        ]
        let hidden = try DensePReLU(r, dense: "dense4", prelu: "prelu4", outputs: 128, map: (3, 3, 64))
        let joined = JoinedLayers.stack([
            (try r.tensor("dense5_1.weight", [2, 128]), try r.tensor("dense5_1.bias", [2])),
            (try r.tensor("dense5_2.weight", [4, 128]), try r.tensor("dense5_2.bias", [4])),
        ])
        network = CropNetwork(name: "R-Net", inputSize: Self.inputSize, stages: stages, hidden: hidden,
                              output: Dense(weight: joined.weight, bias: joined.bias))
        try r.finish()
    }

    /// Runs `count` crops (count × 24 × 24 × 3, normalised). Returns count rows of 6 floats (logits 0–1, regression
    /// 2–5), living in `workspace` until its next use.
    func forward(_ x: UnsafePointer<Float>, count: Int, workspace ws: MTCNNWorkspace, threads: Int) -> UnsafePointer<Float> {
        network.forward(x, count: count, workspace: ws, threads: threads)
    }
}
