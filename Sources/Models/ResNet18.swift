import Kernels

/// torchvision's `resnet18` as TSAV's audio backbone: a 1-channel 7×7 stride-2 stem, BN, ReLU, 3×3 stride-2 max pool,
/// four stages of two BasicBlocks (64/128/256/512, stride 2 from layer2 on, 1×1 stride-2 downsample), global average
/// pool → 512. `fc` is the identity. BatchNorm is folded into each convolution at load.
///
/// The initializer declares every parameter under its state-dict name, beside the property that holds it:
/// `conv1` = `conv1` ⊕ `bn1`; `layerL[i].conv1` = `layerL.i.conv1` ⊕ `layerL.i.bn1`; `layerL[i].conv2` = `conv2` ⊕ `bn2`;
/// `layerL[0].downsample` = `downsample.0` ⊕ `downsample.1`.
/// Input: (N, 1, 64, T) log-mel spectrograms, any T ≥ 1 (H = 64 mel bands, W = time frames).
public final class ResNet18: @unchecked Sendable {
    public struct BasicBlock: Sendable {
        public let conv1: Conv3D
        public let conv2: Conv3D
        public let downsample: Conv3D?
    }

    public let conv1: Conv3D
    public var layer1: [BasicBlock] { layers[0] }
    public var layer2: [BasicBlock] { layers[1] }
    public var layer3: [BasicBlock] { layers[2] }
    public var layer4: [BasicBlock] { layers[3] }
    /// The four stages in order (stored, so a forward allocates nothing to walk them; `layer1`…`layer4` name them).
    public let layers: [[BasicBlock]]

    /// For bf16/int8: the converted convolutions. `conv1` has none: its input (a log-mel spectrogram) is signed, and
    /// it is a few % of the work.
    let reduced: ReducedConvolutions
    /// The arithmetic of the convolutions (`fp32` unless made with `init(_:precision:)`).
    public var precision: Precision { reduced.precision }

    public static let widths = [64, 128, 256, 512]
    public static let features = 512

    /// Declares (and, from a file, builds) the network under `p` (e.g. `audio_model.resnet.`).
    public init(_ p: ParameterScope) {
        conv1 = ConvBatchNorm.conv2D(p.scope("conv1"), p.scope("bn1"), weight: [64, 1, 7, 7], stride: 2, padding: 3)
        layers = basicBlockPlan(widths: Self.widths).enumerated().map { (l, blocks) in
            blocks.enumerated().map { (i, b) in
                let q = p.scope("layer\(l + 1).\(i)")
                let conv1 = ConvBatchNorm.conv2D(q.scope("conv1"), q.scope("bn1"), weight: [b.planes, b.inPlanes, 3, 3],
                                                 stride: b.stride, padding: 1)
                let conv2 = ConvBatchNorm.conv2D(q.scope("conv2"), q.scope("bn2"), weight: [b.planes, b.planes, 3, 3], stride: 1, padding: 1)
                let down = b.needsDownsample
                    ? ConvBatchNorm.conv2D(q.scope("downsample.0"), q.scope("downsample.1"), weight: [b.planes, b.inPlanes, 1, 1],
                                           stride: b.stride, padding: 0) : nil
                return BasicBlock(conv1: conv1, conv2: conv2, downsample: down)
            }
        }
        reduced = .fp32
    }

    /// The same network with its convolutions (but `conv1`) converted to `precision` once, here.
    public init(_ other: ResNet18, precision: Precision) {
        conv1 = other.conv1
        layers = other.layers
        let convolutions = other.layers.joined().flatMap { [$0.conv1, $0.conv2] + ($0.downsample.map { [$0] } ?? []) }
        reduced = ReducedConvolutions(convolutions, precision: precision)
    }

    /// Per-worker buffers; grown on first use, reused afterwards.
    public final class Workspace {
        let a = ScratchBuffer(), b = ScratchBuffer(), c = ScratchBuffer(), mid = ScratchBuffer()
        let down = ScratchBuffer(), im2col = ScratchBuffer()
        /// The converted (u8 / bf16) input of the current convolution in reduced precision.
        let converted = ScratchBuffer()
        public init() {}
    }

    /// Floats of the largest activation (any layer) for input (N, 1, H, W).
    func largestActivation(n: Int, h: Int, w: Int) -> Int {
        var s = conv1.outputShape(ActivationShape(n: n, h: h, w: w, c: 1))!
        var largest = s.count
        s = ActivationShape(n: n, h: (s.h - 1) / 2 + 1, w: (s.w - 1) / 2 + 1, c: 64)   // max pool 3×3 s2 p1
        for blocks in layers {
            for b in blocks {
                let u = b.conv1.outputShape(s)!
                largest = max(largest, u.count, b.downsample?.outputShape(s)!.count ?? 0)
                s = b.conv2.outputShape(u)!
                largest = max(largest, s.count)
            }
        }
        return largest
    }

    /// FLOPs (2 per multiply-add) of the convolutions for `n` spectrograms of 64 × `frames`.
    public func flops(n: Int, height: Int = 64, frames: Int) -> Double {
        var s = ActivationShape(n: n, h: height, w: frames, c: 1)
        var total = conv1.flops(s)
        s = conv1.outputShape(s)!
        s = ActivationShape(n: n, h: (s.h - 1) / 2 + 1, w: (s.w - 1) / 2 + 1, c: 64)   // max pool 3×3 s2 p1
        for blocks in layers {
            for b in blocks {
                total += b.conv1.flops(s) + (b.downsample?.flops(s) ?? 0)
                let u = b.conv1.outputShape(s)!
                total += b.conv2.flops(u)
                s = b.conv2.outputShape(u)!
            }
        }
        return total
    }

    /// Runs `n` spectrograms (N, 1, H, W) and writes the 512-d average-pooled layer4 features (N, 512).
    /// With one input channel, channel-major and channels-last are the same memory, so no transpose is needed.
    public func forward(spectrograms x: UnsafePointer<Float>, n: Int, height h: Int, frames w: Int, workspace ws: Workspace,
                        features out: UnsafeMutablePointer<Float>, threads: Int) {
        var s = ActivationShape(n: n, h: h, w: w, c: 1)
        let largest = largestActivation(n: n, h: h, w: w)
        var cur = ws.a.reserve(largest), tmp = ws.b.reserve(largest), next = ws.c.reserve(largest)
        let mid = ws.mid.reserve(largest), down = ws.down.reserve(largest)
        let scratch = ws.im2col
        // Each convolution in this network's precision.
        func conv(_ c: Conv3D, _ x: UnsafePointer<Float>, _ s: ActivationShape, into y: UnsafeMutablePointer<Float>,
                  residual: UnsafePointer<Float>? = nil, relu: Bool) -> ActivationShape {
            reduced.forward(c, x, s, into: y, residual: residual, relu: relu, scratch: scratch, converted: ws.converted,
                            threads: threads)
        }
        s = conv(conv1, x, s, into: tmp, relu: true)
        s = Pooling.maxPool2D(tmp, s, kernel: 3, stride: 2, padding: 1, into: cur)
        for blocks in layers {
            for b in blocks {
                let x0 = s
                let u = conv(b.conv1, cur, x0, into: mid, relu: true)
                var residual = UnsafePointer(cur)
                if let d = b.downsample {
                    _ = conv(d, cur, x0, into: down, relu: false)
                    residual = UnsafePointer(down)
                }
                s = conv(b.conv2, mid, u, into: next, residual: residual, relu: true)
                swap(&cur, &next)
            }
        }
        Pooling.globalAverage(cur, s, into: out)
    }

    /// Runs a (N, 1, H, W) tensor of normalized log-mel spectrograms; returns (N, 512).
    public func forward(_ spectrograms: Tensor, workspace: Workspace = Workspace(), threads: Int) throws -> Tensor {
        guard spectrograms.rank == 4, spectrograms.shape[1] == 1 else {
            throw WeightsError("ResNet-18 audio input must be (N, 1, 64, T) spectrograms, got \(Tensor.shapeString(spectrograms.shape))")
        }
        let (n, h, w) = (spectrograms.shape[0], spectrograms.shape[2], spectrograms.shape[3])
        guard n > 0, h >= 1, w >= 1 else {
            throw WeightsError("ResNet-18 audio input \(Tensor.shapeString(spectrograms.shape)) is empty")
        }
        let out = Tensor(zeros: [n, Self.features])
        forward(spectrograms: spectrograms.pointer, n: n, height: h, frames: w, workspace: workspace, features: out.pointer, threads: threads)
        return out
    }
}
