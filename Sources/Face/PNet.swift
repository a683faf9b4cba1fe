import Kernels

/// MTCNN's proposal network (Zhang et al. 2016; facenet-pytorch's `PNet`, `models/mtcnn.py`): fully convolutional,
/// each output cell sees a 12×12 window, cells 2 pixels apart. conv1 3→10 3×3, PReLU, max pool 2×2 stride 2 (ceil
/// mode), conv2 10→16 3×3, PReLU, conv3 16→32 3×3, PReLU, then two 1×1 outputs: `conv4_1` 32→2 (face / not face,
/// softmax) and `conv4_2` 32→4 (box regression). Input: (H, W, 3) channels-last, already normalised.
public struct PNet: Sendable {
    let conv1: ConvPReLU, conv2: ConvPReLU, conv3: ConvPReLU
    /// `conv4_1` and `conv4_2` as one 1×1 convolution 32 → 6: channels 0–1 the face logits, 2–5 the regression.
    let output: Conv3D

    public init(path: String) throws {
        let r = try MTCNNWeightsReader(path: path, network: "P-Net")
        conv1 = try ConvPReLU(r, conv: "conv1", prelu: "prelu1", [10, 3, 3, 3])
        conv2 = try ConvPReLU(r, conv: "conv2", prelu: "prelu2", [16, 10, 3, 3])
        conv3 = try ConvPReLU(r, conv: "conv3", prelu: "prelu3", [32, 16, 3, 3])
        let joined = JoinedLayers.stack([
            (try r.tensor("conv4_1.weight", [2, 32, 1, 1]), try r.tensor("conv4_1.bias", [2])),
            (try r.tensor("conv4_2.weight", [4, 32, 1, 1]), try r.tensor("conv4_2.bias", [4])),
        ])
        output = Conv3D.conv2D(weight: joined.weight, bias: joined.bias)
        try r.finish()
    }

    /// Output map size for an input of height × width (nil when smaller than one 12×12 window).
    static func outputSize(height: Int, width: Int) -> (height: Int, width: Int)? {
        guard height >= 12, width >= 12 else { return nil }
        let ph = Pooling.pooledSize(height - 2, kernel: 2, stride: 2, padding: 0, ceilMode: true)
        let pw = Pooling.pooledSize(width - 2, kernel: 2, stride: 2, padding: 0, ceilMode: true)
        return (ph - 4, pw - 4)
    }

    /// Runs the network on `x` (height × width × 3, normalised). Returns the output map: per cell, 6 floats
    /// (face logits 0–1, regression 2–5), row-major over (oh, ow); it lives in `workspace` until its next use.
    func forward(_ x: UnsafePointer<Float>, height: Int, width: Int, workspace ws: MTCNNWorkspace,
                 threads: Int) -> (map: UnsafePointer<Float>, height: Int, width: Int) {
        let floats = height * width * 10
        let a = ws.a.reserve(floats), b = ws.b.reserve(floats)
        var s = ActivationShape(n: 1, h: height, w: width, c: 3)
        s = conv1.forward(x, s, into: a, scratch: ws.scratch, threads: threads)
        s = Pooling.maxPool2D(a, s, kernel: 2, stride: 2, padding: 0, ceilMode: true, into: b)
        s = conv2.forward(b, s, into: a, scratch: ws.scratch, threads: threads)
        s = conv3.forward(a, s, into: b, scratch: ws.scratch, threads: threads)
        s = output.forward(b, s, into: a, relu: false, scratch: ws.scratch, threads: threads)
        return (UnsafePointer(a), s.h, s.w)
    }
}
