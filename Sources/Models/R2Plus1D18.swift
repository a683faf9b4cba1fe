import Kernels

/// torchvision's `r2plus1d_18` (VideoResNet, R(2+1)D-18) as used by TSAV, inference only, BatchNorm folded at load.
///
/// The initializer declares every parameter under its state-dict name, beside the property that holds it
/// (`ConvBatchNorm` for each convolution + BatchNorm pair):
/// - `stem.conv0` = `stem.0` (Conv3d 3→45, 1×7×7, stride 1,2,2, pad 0,3,3) ⊕ `stem.1` (BN), then ReLU
/// - `stem.conv3` = `stem.3` (Conv3d 45→64, 3×1×1, pad 1,0,0) ⊕ `stem.4` (BN), then ReLU
/// - `layerL[i].conv1.spatial` = `layerL.i.conv1.0.0` (1×3×3, stride 1,s,s) ⊕ `conv1.0.1` (BN), ReLU
/// - `layerL[i].conv1.temporal` = `layerL.i.conv1.0.3` (3×1×1, stride s,1,1) ⊕ `conv1.1` (BN), ReLU
/// - `layerL[i].conv2.*` likewise with stride 1 and no ReLU before the residual add
/// - `layerL[0].downsample` = `downsample.0` (1×1×1, stride 2,2,2) ⊕ `downsample.1` (BN), layers 2–4
///
/// The output is layer4 (N, 512, 1, 7, 7 for 8×112×112 clips), with no pooling or fc.
public final class R2Plus1D18: @unchecked Sendable {
    /// `Conv2Plus1D` followed by its BatchNorm: a spatial and a temporal convolution with BN folded into each.
    public struct Conv2Plus1D: Sendable {
        public let spatial: Conv3D   // (mid, in, 1, 3, 3)
        public let temporal: Conv3D  // (out, mid, 3, 1, 1)
    }

    public struct BasicBlock: Sendable {
        public let conv1: Conv2Plus1D
        public let conv2: Conv2Plus1D
        public let downsample: Conv3D?
    }

    public struct Stem: Sendable {
        public let conv0: Conv3D
        public let conv3: Conv3D
    }

    public let stem: Stem
    public let layer1: [BasicBlock], layer2: [BasicBlock], layer3: [BasicBlock], layer4: [BasicBlock]
    /// The four stages in order (stored, so a forward allocates nothing to walk them).
    public let layers: [[BasicBlock]]

    public static let widths = [64, 128, 256, 512]
    public static let outChannels = 512

    /// Mid-channels of a (2+1)D block: floor(in·out·27 / (9·in + 3·out)).
    public static func midPlanes(_ inPlanes: Int, _ planes: Int) -> Int { inPlanes * planes * 27 / (9 * inPlanes + 3 * planes) }

    /// Declares (and, from a file, builds) the network under `p` (e.g. `video_model.r2plus1d.`).
    /// `stemInputChannels`: input channels of `stem.0.weight` as the checkpoint stores them (TSAV: 4, RGB + a landmark
    /// mask). The network reads RGB only: a loader whose file has more channels cuts them with
    /// `CheckpointQuirks.keptInputChannels` (TSAV's quirks do), so the stem convolution always has 3 input channels.
    public init(_ p: ParameterScope, stemInputChannels: Int) {
        let s = p.scope("stem")
        let conv0 = ConvBatchNorm.conv3D(s.scope("0"), s.scope("1"), weight: [45, stemInputChannels, 1, 7, 7],
                                         stride: (1, 2, 2), padding: (0, 3, 3))
        precondition(!p.whenRead({ conv0.geometry.inChannels != 3 }, otherwise: false),
                     "R(2+1)D-18 stem read with \(conv0.geometry.inChannels) input channels: the loader's quirks must keep 3")
        stem = Stem(conv0: conv0,
                    conv3: ConvBatchNorm.conv3D(s.scope("3"), s.scope("4"), weight: [64, 45, 3, 1, 1], stride: (1, 1, 1), padding: (1, 0, 0)))
        layers = basicBlockPlan(widths: Self.widths).enumerated().map { (l, blocks) in
            blocks.enumerated().map { (i, b) in
                let q = p.scope("layer\(l + 1).\(i)")
                let mid = Self.midPlanes(b.inPlanes, b.planes), st = b.stride
                /// `convN` = Sequential(Conv2Plus1D(0: spatial, 1: BN, 2: ReLU, 3: temporal), 1: BN, 2: ReLU).
                func unit(_ name: String, _ inPlanes: Int, _ st: Int) -> Conv2Plus1D {
                    let u = q.scope(name)
                    return Conv2Plus1D(spatial: ConvBatchNorm.conv3D(u.scope("0.0"), u.scope("0.1"), weight: [mid, inPlanes, 1, 3, 3],
                                                                     stride: (1, st, st), padding: (0, 1, 1)),
                                       temporal: ConvBatchNorm.conv3D(u.scope("0.3"), u.scope("1"), weight: [b.planes, mid, 3, 1, 1],
                                                                      stride: (st, 1, 1), padding: (1, 0, 0)))
                }
                let conv1 = unit("conv1", b.inPlanes, st), conv2 = unit("conv2", b.planes, 1)
                let down = b.needsDownsample
                    ? ConvBatchNorm.conv3D(q.scope("downsample.0"), q.scope("downsample.1"), weight: [b.planes, b.inPlanes, 1, 1, 1],
                                           stride: (st, st, st), padding: (0, 0, 0)) : nil
                return BasicBlock(conv1: conv1, conv2: conv2, downsample: down)
            }
        }
        (layer1, layer2, layer3, layer4) = (layers[0], layers[1], layers[2], layers[3])
    }

    /// Per-worker buffers; grown on first use, reused afterwards (no allocation in a steady-state forward).
    public final class Workspace {
        let input = ScratchBuffer(), a = ScratchBuffer(), b = ScratchBuffer(), c = ScratchBuffer()
        let mid = ScratchBuffer(), down = ScratchBuffer(), im2col = ScratchBuffer()
        /// The input shape the buffer sizes were computed for, and the floats each buffer role needs for it.
        var plannedInput: ActivationShape?, sizes = BufferSizes()
        public init() {}
    }

    /// Every convolution with its input shape, in execution order (for FLOP counts and buffer sizing).
    public func convolutions(for input: ActivationShape) -> [(name: String, conv: Conv3D, input: ActivationShape)] {
        var out: [(String, Conv3D, ActivationShape)] = []
        var s = input
        func add(_ n: String, _ c: Conv3D) -> ActivationShape { out.append((n, c, s)); s = c.outputShape(s)!; return s }
        _ = add("stem.0", stem.conv0); _ = add("stem.3", stem.conv3)
        for (l, blocks) in layers.enumerated() {
            for (i, b) in blocks.enumerated() {
                let x = s
                _ = add("layer\(l + 1).\(i).conv1.0.0", b.conv1.spatial); _ = add("layer\(l + 1).\(i).conv1.0.3", b.conv1.temporal)
                _ = add("layer\(l + 1).\(i).conv2.0.0", b.conv2.spatial)
                if let d = b.downsample { out.append(("layer\(l + 1).\(i).downsample.0", d, x)) }
                _ = add("layer\(l + 1).\(i).conv2.0.3", b.conv2.temporal)
            }
        }
        return out
    }

    /// Floats needed by each activation buffer role for an input shape.
    struct BufferSizes {
        var block = 0        // stem output and block outputs (ping-pong pair)
        var temporary = 0    // stem.0 output and conv1.temporal outputs
        var mid = 0          // spatial (1×3×3) outputs: the (2+1)D mid-channels
        var downsample = 0   // downsample outputs
    }

    func bufferSizes(for input: ActivationShape) -> BufferSizes {
        var z = BufferSizes()
        var s = stem.conv0.outputShape(input)!
        z.temporary = s.count
        s = stem.conv3.outputShape(s)!
        z.block = s.count
        for blocks in layers {
            for b in blocks {
                let u1 = b.conv1.spatial.outputShape(s)!, u2 = b.conv1.temporal.outputShape(u1)!, u3 = b.conv2.spatial.outputShape(u2)!
                z.mid = max(z.mid, u1.count, u3.count)
                z.temporary = max(z.temporary, u2.count)
                if let d = b.downsample { z.downsample = max(z.downsample, d.outputShape(s)!.count) }
                s = b.conv2.temporal.outputShape(u3)!
                z.block = max(z.block, s.count)
            }
        }
        return z
    }

    /// FLOPs (2 per multiply-add) of the convolutions for `n` clips of (T, H, W).
    public func flops(clips n: Int, t: Int = 8, h: Int = 112, w: Int = 112) -> Double {
        convolutions(for: ActivationShape(n: n, t: t, h: h, w: w, c: 3)).reduce(0) { $0 + $1.conv.flops($1.input) }
    }

    /// Runs `n` clips (N, 3, T, H, W) channel-major and writes layer4 flattened channel-major (N, 512·T4·H4·W4),
    /// the per-channel mean over layer4's positions (N, 512), and optionally the per-channel max (N, 512).
    /// Returns layer4's shape.
    @discardableResult
    public func forward(clips x: UnsafePointer<Float>, n: Int, t: Int, h: Int, w: Int, workspace ws: Workspace,
                        layer4 out: UnsafeMutablePointer<Float>?, pooled: UnsafeMutablePointer<Float>?,
                        maxPooled: UnsafeMutablePointer<Float>? = nil, threads: Int) -> ActivationShape {
        var s = ActivationShape(n: n, t: t, h: h, w: w, c: 3)
        if ws.plannedInput != s {
            ws.sizes = bufferSizes(for: s)
            ws.plannedInput = s
        }
        let sizes = ws.sizes
        let input = ws.input.reserve(s.count)
        Layout.toChannelsLast(x, input, n: n, c: 3, spatial: s.positionsPerSample)
        var cur = ws.a.reserve(sizes.block), tmp = ws.b.reserve(sizes.temporary), next = ws.c.reserve(sizes.block)
        let mid = ws.mid.reserve(sizes.mid), down = ws.down.reserve(sizes.downsample)
        let scratch = ws.im2col

        s = stem.conv0.forward(input, s, into: tmp, relu: true, scratch: scratch, threads: threads)
        s = stem.conv3.forward(tmp, s, into: cur, relu: true, scratch: scratch, threads: threads)
        for blocks in layers {
            for b in blocks {
                let x0 = s
                var u = b.conv1.spatial.forward(cur, x0, into: mid, relu: true, scratch: scratch, threads: threads)
                u = b.conv1.temporal.forward(mid, u, into: tmp, relu: true, scratch: scratch, threads: threads)
                u = b.conv2.spatial.forward(tmp, u, into: mid, relu: true, scratch: scratch, threads: threads)
                var residual = UnsafePointer(cur)
                if let d = b.downsample {
                    d.forward(cur, x0, into: down, relu: false, scratch: scratch, threads: threads)
                    residual = UnsafePointer(down)
                }
                s = b.conv2.temporal.forward(mid, u, into: next, residual: residual, relu: true, scratch: scratch, threads: threads)
                swap(&cur, &next)
            }
        }
        if let out { Layout.toChannelsFirst(cur, out, n: n, c: s.c, spatial: s.positionsPerSample) }
        if let pooled { Pooling.globalAverage(cur, s, into: pooled) }
        if let maxPooled { Pooling.globalMax(cur, s, into: maxPooled) }
        return s
    }

    /// Outputs of `forward(_:workspace:)`.
    public struct Output: Sendable {
        public let layer4: Tensor      // (N, 512·T4·H4·W4), channel-major (C, T, H, W)
        public let pooled: Tensor      // (N, 512)
        public let maxPooled: Tensor?  // (N, 512)
    }

    /// Runs a (N, 3, T, H, W) tensor of normalized clips.
    public func forward(_ clips: Tensor, workspace: Workspace = Workspace(), wantMax: Bool = false,
                        threads: Int) throws -> Output {
        guard clips.rank == 5, clips.shape[1] == 3 else {
            throw WeightsError("R(2+1)D-18 input must be (N, 3, T, H, W) normalized RGB clips, got \(Tensor.shapeString(clips.shape))")
        }
        let (n, t, h, w) = (clips.shape[0], clips.shape[2], clips.shape[3], clips.shape[4])
        guard n > 0, t >= 1, h >= 16, w >= 16 else {
            throw WeightsError("R(2+1)D-18 input \(Tensor.shapeString(clips.shape)) is too small (needs T ≥ 1, H, W ≥ 16)")
        }
        let o = ActivationShape(n: n, t: (t + 7) / 8, h: (h + 15) / 16, w: (w + 15) / 16, c: 512)
        let flat = o.count / n
        let layer4 = Tensor(zeros: [n, flat]), pooled = Tensor(zeros: [n, 512])
        let mx = wantMax ? Tensor(zeros: [n, 512]) : nil
        let s = forward(clips: clips.pointer, n: n, t: t, h: h, w: w, workspace: workspace,
                        layer4: layer4.pointer, pooled: pooled.pointer, maxPooled: mx?.pointer, threads: threads)
        precondition(s == o, "layer4 shape \(s) differs from the predicted \(o)")
        return Output(layer4: layer4, pooled: pooled, maxPooled: mx)
    }
}
