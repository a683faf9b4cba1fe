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
    public var layer1: [BasicBlock] { layers[0] }
    public var layer2: [BasicBlock] { layers[1] }
    public var layer3: [BasicBlock] { layers[2] }
    public var layer4: [BasicBlock] { layers[3] }
    /// The four stages in order (stored, so a forward allocates nothing to walk them; `layer1`…`layer4` name them).
    public let layers: [[BasicBlock]]

    /// For bf16/int8: the converted convolutions. `stem.conv0` has none: its input (normalized RGB, 3 channels) is
    /// signed and it is under 1 % of the work, so it stays fp32 in every mode.
    let reduced: ReducedConvolutions
    /// The arithmetic of the convolutions (`fp32` unless made with `init(_:precision:)`).
    public var precision: Precision { reduced.precision }

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
        reduced = .fp32
    }

    /// The same network with its convolutions converted to `precision` once, here (the fp32 weights are shared).
    public init(_ other: R2Plus1D18, precision: Precision) {
        stem = other.stem
        layers = other.layers
        let convolutions = other.convolutions(for: ActivationShape(n: 1, t: 8, h: 112, w: 112, c: 3)).map(\.conv)
        reduced = ReducedConvolutions(convolutions.filter { $0 !== other.stem.conv0 }, precision: precision)
    }

    /// The converted form of `conv` in this network's precision, if it has one.
    public func reducedConvolution(_ conv: Conv3D) -> ReducedConv3D? { reduced[conv] }

    /// Per-worker buffers; grown on first use, reused afterwards (no allocation in a steady-state forward).
    public final class Workspace {
        let input = ScratchBuffer(), a = ScratchBuffer(), b = ScratchBuffer(), c = ScratchBuffer()
        let mid = ScratchBuffer(), down = ScratchBuffer(), im2col = ScratchBuffer()
        /// The converted (u8 / bf16) input of the current convolution in reduced precision.
        let converted = ScratchBuffer()
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
    /// Returns layer4's shape. `outputStride`: floats between consecutive clips' rows in `layer4` and `maxPooled`
    /// (default: packed), so the features land directly in the rows of a larger matrix (the head's input).
    ///
    /// `frameKeys` (N·T, clip-major) names each input frame: equal keys promise identical frames. With `reuse`, work
    /// whose result is already known is skipped (`ClipReuse`); the outputs are the same to the bit.
    @discardableResult
    public func forward(clips x: UnsafePointer<Float>, n: Int, t: Int, h: Int, w: Int, workspace ws: Workspace,
                        layer4 out: UnsafeMutablePointer<Float>?, pooled: UnsafeMutablePointer<Float>?,
                        maxPooled: UnsafeMutablePointer<Float>? = nil, outputStride: Int? = nil, threads: Int,
                        frameKeys: [Int]? = nil, reuse: ClipReuse? = nil) -> ActivationShape {
        precondition(frameKeys == nil || frameKeys!.count == n * t, "frameKeys needs one key per input frame (N·T)")
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
        // Each convolution in this network's precision (optionally only some output rows).
        func conv(_ c: Conv3D, _ x: UnsafePointer<Float>, _ s: ActivationShape, into y: UnsafeMutablePointer<Float>,
                  residual: UnsafePointer<Float>? = nil, relu: Bool, rows: [Range<Int>]? = nil) -> ActivationShape {
            reduced.forward(c, x, s, into: y, residual: residual, relu: relu, scratch: scratch, converted: ws.converted,
                            threads: threads, rows: rows)
        }
        if let reuse, frameKeys != nil { reuse.prepare(t: t, h: h, w: w, precision: precision) }
        /// A convolution of the reuse zone (stem and layer1: `zone` is its index, `radius` its output's temporal
        /// receptive radius): positions whose signature is known are copied, the others computed (see `ClipReuse`).
        func zoneConv(_ zone: Int, radius r: Int, _ c: Conv3D, _ x: UnsafePointer<Float>, _ s: ActivationShape,
                      into y: UnsafeMutablePointer<Float>, residual: UnsafePointer<Float>? = nil, relu: Bool) -> ActivationShape {
            guard let reuse, let keys = frameKeys else { return conv(c, x, s, into: y, residual: residual, relu: relu) }
            let o = c.outputShape(s)!
            precondition(o.t == s.t && o.n * o.t == keys.count, "reuse zone convolutions keep the frame count")
            let frames = o.n * o.t, rowsPerFrame = o.h * o.w, frameFloats = rowsPerFrame * o.c
            let int8 = precision == .int8   // per-clip scales: positions of different clips never share
            var signatures: [[Int]] = []
            signatures.reserveCapacity(frames)
            for clip in 0..<o.n {
                for f in 0..<o.t {
                    var sig = int8 ? [zone, clip] : [zone]
                    for j in (f - r)...(f + r) { sig.append(j >= 0 && j < o.t ? keys[clip * o.t + j] : ClipReuse.padding) }
                    signatures.append(sig)
                }
            }
            let store: ClipReuse.Store? = int8 || o.t <= 2 * r ? nil : {
                if let st = reuse.stores[zone], st.rowFloats == frameFloats { return st }
                let st = ClipReuse.Store(rowFloats: frameFloats, capacity: reuse.capacityClips * (o.t - 2 * r))
                reuse.stores[zone] = st
                return st
            }()
            enum Source { case compute, duplicate(Int), stored(Int) }
            var plan = [Source](repeating: .compute, count: frames)
            var first: [[Int]: Int] = [:]
            for i in 0..<frames {
                if let j = first[signatures[i]] { plan[i] = .duplicate(j); continue }
                first[signatures[i]] = i
                if let slot = store?.slotOf[signatures[i]] { plan[i] = .stored(slot) }
            }
            var ranges: [Range<Int>] = []
            var computed = 0
            for i in 0..<frames {
                guard case .compute = plan[i] else { continue }
                computed += 1
                let rows = (i * rowsPerFrame)..<((i + 1) * rowsPerFrame)
                if let last = ranges.last, last.upperBound == rows.lowerBound { ranges[ranges.count - 1] = last.lowerBound..<rows.upperBound }
                else { ranges.append(rows) }
            }
            if computed == frames {
                _ = conv(c, x, s, into: y, residual: residual, relu: relu)
            } else if computed > 0 {
                _ = conv(c, x, s, into: y, residual: residual, relu: relu, rows: ranges)
            }
            // Kept positions first (a `put` below may reuse their slots), then duplicates (their sources, earlier
            // positions, are final by then), then keep this batch's new padding-free positions.
            for i in 0..<frames { if case .stored(let slot) = plan[i] { (y + i * frameFloats).update(from: store!.slot(slot), count: frameFloats) } }
            for i in 0..<frames { if case .duplicate(let j) = plan[i] { (y + i * frameFloats).update(from: y + j * frameFloats, count: frameFloats) } }
            if let store {
                for i in 0..<frames {
                    if case .compute = plan[i], !signatures[i].contains(ClipReuse.padding) { store.put(signatures[i], from: y + i * frameFloats) }
                }
            }
            let flops = c.flops(s)
            reuse.count(skipped: flops * Double(frames - computed) / Double(frames), total: flops, reused: frames - computed, of: frames)
            return o
        }
        /// A convolution outside the zone (counted for the reuse statistics).
        func plainConv(_ c: Conv3D, _ x: UnsafePointer<Float>, _ s: ActivationShape, into y: UnsafeMutablePointer<Float>,
                       residual: UnsafePointer<Float>? = nil, relu: Bool) -> ActivationShape {
            if let reuse, frameKeys != nil { reuse.countWhole(c.flops(s)) }
            return conv(c, x, s, into: y, residual: residual, relu: relu)
        }

        s = zoneConv(0, radius: 0, stem.conv0, input, s, into: tmp, relu: true)
        s = zoneConv(1, radius: 1, stem.conv3, tmp, s, into: cur, relu: true)
        for (l, blocks) in layers.enumerated() {
            for (i, b) in blocks.enumerated() {
                let x0 = s
                if l == 0 {
                    // layer1: every convolution keeps T; radius 1 at the block input, +1 per temporal convolution.
                    let z = 2 + 4 * i, r = 1 + 2 * i
                    var u = zoneConv(z, radius: r, b.conv1.spatial, cur, x0, into: mid, relu: true)
                    u = zoneConv(z + 1, radius: r + 1, b.conv1.temporal, mid, u, into: tmp, relu: true)
                    u = zoneConv(z + 2, radius: r + 1, b.conv2.spatial, tmp, u, into: mid, relu: true)
                    s = zoneConv(z + 3, radius: r + 2, b.conv2.temporal, mid, u, into: next, residual: UnsafePointer(cur), relu: true)
                    swap(&cur, &next)
                    continue
                }
                var u = plainConv(b.conv1.spatial, cur, x0, into: mid, relu: true)
                u = plainConv(b.conv1.temporal, mid, u, into: tmp, relu: true)
                u = plainConv(b.conv2.spatial, tmp, u, into: mid, relu: true)
                var residual = UnsafePointer(cur)
                if let d = b.downsample {
                    _ = plainConv(d, cur, x0, into: down, relu: false)
                    residual = UnsafePointer(down)
                }
                s = plainConv(b.conv2.temporal, mid, u, into: next, residual: residual, relu: true)
                swap(&cur, &next)
            }
        }
        if let out { Layout.toChannelsFirst(cur, out, n: n, c: s.c, spatial: s.positionsPerSample, sampleStride: outputStride) }
        if let pooled { Pooling.globalAverage(cur, s, into: pooled) }
        if let maxPooled { Pooling.globalMax(cur, s, into: maxPooled, rowStride: outputStride) }
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
                        threads: Int, frameKeys: [Int]? = nil, reuse: ClipReuse? = nil) throws -> Output {
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
                        layer4: layer4.pointer, pooled: pooled.pointer, maxPooled: mx?.pointer, threads: threads,
                        frameKeys: frameKeys, reuse: reuse)
        precondition(s == o, "layer4 shape \(s) differs from the predicted \(o)")
        return Output(layer4: layer4, pooled: pooled, maxPooled: mx)
    }
}
