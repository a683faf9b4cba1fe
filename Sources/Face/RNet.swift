import Kernels

/// MTCNN's refinement network (facenet-pytorch's `RNet`): 24×24 crops of the P-Net candidates. conv1 3→28 3×3,
/// PReLU, max pool 3×3 stride 2 (ceil), conv2 28→48 3×3, PReLU, max pool 3×3 stride 2 (ceil), conv3 48→64 2×2, PReLU,
/// dense4 576→128, PReLU, then `dense5_1` 128→2 (face / not face, softmax) and `dense5_2` 128→4 (box regression).
public struct RNet: Sendable {
    static let inputSize = 24
    let conv1: ConvPReLU, conv2: ConvPReLU, conv3: ConvPReLU
    /// `dense4`, its columns reordered for (H, W, C) activations (see `columnsFromWHCtoHWC`).
    let dense4: Dense
    let prelu4: Tensor
    /// `dense5_1` and `dense5_2` joined: outputs 0–1 face logits, 2–5 regression.
    let output: Dense

    public init(path: String) throws {
        let r = try MTCNNWeightsReader(path: path, network: "R-Net")
        conv1 = try ConvPReLU(r, conv: "conv1", prelu: "prelu1", [28, 3, 3, 3])
        conv2 = try ConvPReLU(r, conv: "conv2", prelu: "prelu2", [48, 28, 3, 3])
        conv3 = try ConvPReLU(r, conv: "conv3", prelu: "prelu3", [64, 48, 2, 2])
        dense4 = Dense(weight: columnsFromWHCtoHWC(try r.tensor("dense4.weight", [128, 576]), height: 3, width: 3, channels: 64),
                        bias: try r.tensor("dense4.bias", [128]))
        prelu4 = try r.tensor("prelu4.weight", [128])
        let joined = JoinedLayers.stack([
            (try r.tensor("dense5_1.weight", [2, 128]), try r.tensor("dense5_1.bias", [2])),
            (try r.tensor("dense5_2.weight", [4, 128]), try r.tensor("dense5_2.bias", [4])),
        ])
        output = Dense(weight: joined.weight, bias: joined.bias)
        try r.finish()
    }

    /// Runs `count` crops (count × 24 × 24 × 3, normalised). Returns count rows of 6 floats (logits 0–1, regression
    /// 2–5), living in `workspace` until its next use.
    func forward(_ x: UnsafePointer<Float>, count: Int, workspace ws: MTCNNWorkspace, threads: Int) -> UnsafePointer<Float> {
        let floats = count * 22 * 22 * 28
        let a = ws.a.reserve(floats), b = ws.b.reserve(floats)
        var s = ActivationShape(n: count, h: Self.inputSize, w: Self.inputSize, c: 3)
        s = conv1.forward(x, s, into: a, scratch: ws.scratch, threads: threads)
        s = Pooling.maxPool2D(a, s, kernel: 3, stride: 2, padding: 0, ceilMode: true, into: b)
        s = conv2.forward(b, s, into: a, scratch: ws.scratch, threads: threads)
        s = Pooling.maxPool2D(a, s, kernel: 3, stride: 2, padding: 0, ceilMode: true, into: b)
        s = conv3.forward(b, s, into: a, scratch: ws.scratch, threads: threads)
        precondition(s.h * s.w * s.c == 576, "R-Net feature map \(s)")
        dense4.forward(a, rows: count, into: b, threads: threads)
        PReLU.apply(b, rows: count, channels: 128, slopes: prelu4.pointer)
        output.forward(b, rows: count, into: a, threads: threads)
        return UnsafePointer(a)
    }
}
