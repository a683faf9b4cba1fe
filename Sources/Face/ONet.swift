import Kernels

/// MTCNN's output network (facenet-pytorch's `ONet`): 48×48 crops of the R-Net boxes. conv1 3→32 3×3, PReLU, max pool
/// 3×3 s2 (ceil), conv2 32→64 3×3, PReLU, max pool 3×3 s2 (ceil), conv3 64→64 3×3, PReLU, max pool 2×2 s2 (ceil),
/// conv4 64→128 2×2, PReLU, dense5 1152→256, PReLU, then `dense6_1` 256→2 (face / not face, softmax), `dense6_2`
/// 256→4 (box regression) and `dense6_3` 256→10 (five landmarks: x of each, then y of each, relative to the box).
public struct ONet: Sendable {
    static let inputSize = 48
    let conv1: ConvPReLU, conv2: ConvPReLU, conv3: ConvPReLU, conv4: ConvPReLU
    /// `dense5`, its columns reordered for (H, W, C) activations (see `columnsFromWHCtoHWC`).
    let dense5: Dense
    let prelu5: Tensor
    /// `dense6_1`, `dense6_2`, `dense6_3` joined: outputs 0–1 face logits, 2–5 regression, 6–15 landmarks.
    let output: Dense

    public init(path: String) throws {
        let r = try MTCNNWeightsReader(path: path, network: "O-Net")
        conv1 = try ConvPReLU(r, conv: "conv1", prelu: "prelu1", [32, 3, 3, 3])
        conv2 = try ConvPReLU(r, conv: "conv2", prelu: "prelu2", [64, 32, 3, 3])
        conv3 = try ConvPReLU(r, conv: "conv3", prelu: "prelu3", [64, 64, 3, 3])
        conv4 = try ConvPReLU(r, conv: "conv4", prelu: "prelu4", [128, 64, 2, 2])
        dense5 = Dense(weight: columnsFromWHCtoHWC(try r.tensor("dense5.weight", [256, 1152]), height: 3, width: 3, channels: 128),
                        bias: try r.tensor("dense5.bias", [256]))
        prelu5 = try r.tensor("prelu5.weight", [256])
        let joined = JoinedLayers.stack([
            (try r.tensor("dense6_1.weight", [2, 256]), try r.tensor("dense6_1.bias", [2])),
            (try r.tensor("dense6_2.weight", [4, 256]), try r.tensor("dense6_2.bias", [4])),
            (try r.tensor("dense6_3.weight", [10, 256]), try r.tensor("dense6_3.bias", [10])),
        ])
        output = Dense(weight: joined.weight, bias: joined.bias)
        try r.finish()
    }

    /// Runs `count` crops (count × 48 × 48 × 3, normalised). Returns count rows of 16 floats (logits 0–1, regression
    /// 2–5, landmarks 6–15), living in `workspace` until its next use.
    func forward(_ x: UnsafePointer<Float>, count: Int, workspace ws: MTCNNWorkspace, threads: Int) -> UnsafePointer<Float> {
        let floats = count * 46 * 46 * 32
        let a = ws.a.reserve(floats), b = ws.b.reserve(floats)
        var s = ActivationShape(n: count, h: Self.inputSize, w: Self.inputSize, c: 3)
        s = conv1.forward(x, s, into: a, scratch: ws.scratch, threads: threads)
        s = Pooling.maxPool2D(a, s, kernel: 3, stride: 2, padding: 0, ceilMode: true, into: b)
        s = conv2.forward(b, s, into: a, scratch: ws.scratch, threads: threads)
        s = Pooling.maxPool2D(a, s, kernel: 3, stride: 2, padding: 0, ceilMode: true, into: b)
        s = conv3.forward(b, s, into: a, scratch: ws.scratch, threads: threads)
        s = Pooling.maxPool2D(a, s, kernel: 2, stride: 2, padding: 0, ceilMode: true, into: b)
        s = conv4.forward(b, s, into: a, scratch: ws.scratch, threads: threads)
        precondition(s.h * s.w * s.c == 1152, "O-Net feature map \(s)")
        dense5.forward(a, rows: count, into: b, threads: threads)
        PReLU.apply(b, rows: count, channels: 256, slopes: prelu5.pointer)
        output.forward(b, rows: count, into: a, threads: threads)
        return UnsafePointer(a)
    }
}
