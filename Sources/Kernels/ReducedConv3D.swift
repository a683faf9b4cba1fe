import CKernels

/// A `Conv3D` in reduced precision: the same geometry, folded bias and tiling, with the weights converted once (at
/// load) and the input converted once per forward.
///
/// - `int8`: weights s8 with one scale per output channel (max |w| / 127, symmetric); the input, which must be
///   non-negative (every convolution after a ReLU), u8 with one scale per clip (sample): its maximum / 255 — so a
///   clip's result does not depend on the other clips of its batch. Products are summed exactly in int32
///   (`vpdpbusd`), then y = act(sum · s_clip · s_channel + bias (+ residual)).
/// - `bf16`: weights and input rounded to bf16 (nearest even), products summed in fp32 (`vdpbf16ps`).
///
/// Both need K in groups (4 bytes for `vpdpbusd`, pairs for `vdpbf16ps`), so the converted input has its channel
/// count padded to a multiple of the group (`channelStride`) with zeros, and each tap of the packed weights has
/// zero rows for the padding: temporal taps and im2col runs then stay contiguous, as in the fp32 convolution.
public final class ReducedConv3D: @unchecked Sendable {   // immutable after init; buffers are the caller's
    public let precision: Precision
    public let geometry: ConvGeometry
    public let path: Conv3D.Path
    /// Input channels padded to the group size (4 for int8, 2 for bf16).
    public let channelStride: Int
    /// K of the packed weights: kT·kH·kW·channelStride.
    public let kPadded: Int
    /// Packed weights (s8 or bf16 bits), 64-byte aligned, `packedBytes` long.
    let packed: UnsafeMutableRawPointer
    let packedBytes: Int
    /// Per output channel: the int8 weight scale (1 for bf16).
    public let weightScale: [Float]
    let bias: Tensor
    /// Source of the tiling rule (the fp32 convolution of the same geometry).
    let tilingSource: Conv3D

    /// Converts `conv`'s folded fp32 weights. `precision` must be `.int8` or `.bf16`.
    public init(_ conv: Conv3D, precision: Precision) {
        precondition(precision != .fp32, "ReducedConv3D is for bf16 and int8; fp32 is Conv3D itself")
        self.precision = precision
        geometry = conv.geometry
        path = conv.path
        bias = conv.bias
        tilingSource = conv
        let g = conv.geometry, cin = g.inChannels, cout = g.outChannels, taps = g.kt * g.kh * g.kw
        let group = precision == .int8 ? 4 : 2
        channelStride = (cin + group - 1) / group * group
        kPadded = taps * channelStride
        let panels = (cout + PackedGEMM.nr - 1) / PackedGEMM.nr
        let elementBytes = precision == .int8 ? 1 : 2
        packedBytes = panels * kPadded * PackedGEMM.nr * elementBytes
        packed = UnsafeMutableRawPointer.allocate(byteCount: max(packedBytes, 64), alignment: 64)
        packed.initializeMemory(as: UInt8.self, repeating: 0, count: packedBytes)

        // The folded weight W[kk, co] (kk = tap·C_in + c) back from the fp32 panels.
        let wp = conv.packedWeight.pointer
        func w(_ tap: Int, _ c: Int, _ co: Int) -> Float { wp[((co / PackedGEMM.nr) * g.k + tap * cin + c) * PackedGEMM.nr + co % PackedGEMM.nr] }
        let kGroups = kPadded / group
        func index(_ kk: Int, _ co: Int) -> Int { Self.packedIndex(kk, co, kGroups: kGroups, group: group) }
        var scales = [Float](repeating: 1, count: cout)
        if precision == .int8 {
            let q = packed.assumingMemoryBound(to: Int8.self)
            for co in 0..<cout {
                var m: Float = 0
                for tap in 0..<taps { for c in 0..<cin { m = max(m, abs(w(tap, c, co))) } }
                let s: Float = m > 0 ? m / 127 : 1
                scales[co] = s
                for tap in 0..<taps {
                    for c in 0..<cin {
                        let v = (w(tap, c, co) / s).rounded(.toNearestOrEven)
                        q[index(tap * channelStride + c, co)] = Int8(max(-127, min(127, v)))
                    }
                }
            }
        } else {
            let h = packed.assumingMemoryBound(to: UInt16.self)
            for co in 0..<cout {
                for tap in 0..<taps {
                    for c in 0..<cin { h[index(tap * channelStride + c, co)] = ReducedConv3D.bf16(w(tap, c, co)) }
                }
            }
        }
        weightScale = scales
    }

    deinit { packed.deallocate() }

    /// fp32 → bf16 bits, round to nearest even, denormals to signed zero (what `vcvtneps2bf16` does).
    public static func bf16(_ v: Float) -> UInt16 {
        var bits = v.bitPattern
        if bits & 0x7F80_0000 == 0 { return UInt16((bits >> 16) & 0x8000) }
        bits = bits &+ 0x7FFF &+ ((bits >> 16) & 1)
        return UInt16(bits >> 16)
    }

    /// bf16 bits → fp32 (exact).
    public static func float(bf16 h: UInt16) -> Float { Float(bitPattern: UInt32(h) << 16) }

    public func outputShape(_ s: ActivationShape) -> ActivationShape? { tilingSource.outputShape(s) }
    public func flops(_ s: ActivationShape) -> Double { tilingSource.flops(s) }

    /// Where element (kk, col) of a K × N weight matrix goes in the packed layout of the reduced-precision GEMMs
    /// (`CKernels.h`): 32-column panels; in a panel, `kGroups` groups of `group` consecutive k (4 for int8, 2 for
    /// bf16), each group the 32 columns' `group` values side by side.
    public static func packedIndex(_ kk: Int, _ col: Int, kGroups: Int, group: Int) -> Int {
        (((col / PackedGEMM.nr) * kGroups + kk / group) * PackedGEMM.nr + col % PackedGEMM.nr) * group + kk % group
    }

    var elementBytes: Int { precision == .int8 ? 1 : 2 }

    /// Bytes of converted input `forward` needs in `converted` for input shape `s`.
    public func convertedBytes(_ s: ActivationShape) -> Int { s.positions * channelStride * elementBytes }

    /// y = act(conv(x) + bias (+ residual)) in this precision; same contract as `Conv3D.forward` (`rows`: only these
    /// output rows; the input is still converted whole, and int8's per-clip scales come from the whole clip).
    /// `x` must be ≥ 0 for int8. `converted` holds the converted input, `scratch` the workers' tiles.
    @discardableResult
    public func forward(_ x: UnsafePointer<Float>, _ s: ActivationShape, into y: UnsafeMutablePointer<Float>,
                        residual: UnsafePointer<Float>? = nil, relu: Bool, scratch: ScratchBuffer, converted: ScratchBuffer,
                        threads: Int, rows selected: [Range<Int>]? = nil) -> ActivationShape {
        guard let o = outputShape(s) else { preconditionFailure("\(geometry) cannot take input \(s)") }
        let g = geometry, cout = g.outChannels, cin = g.inChannels, cs = channelStride, eb = elementBytes
        let rows = o.positions, inRows = s.positions
        let workers0 = max(1, min(threads, max(rows, inRows)))   // more would idle (and overflow the chunk arithmetic)

        // 1. Convert the input (and, for int8, find each clip's scale), split over the workers by rows.
        let xq = UnsafeMutableRawPointer(converted.reserve((convertedBytes(s) + 3) / 4))
        var clipScale = [Float](repeating: 1, count: s.n)
        let isa = precision == .int8 ? KernelDispatch.int8 : KernelDispatch.bf16
        let chunk = max(1024, (inRows + 4 * workers0 - 1) / (4 * workers0))
        let chunks = (inRows + chunk - 1) / chunk
        if precision == .int8 {
            let perSample = s.positionsPerSample
            // Maxima per (sample, chunk) piece; pieces never straddle samples.
            let piecesPerSample = (perSample + chunk - 1) / chunk
            var maxima = [Float](repeating: 0, count: s.n * piecesPerSample)
            maxima.withUnsafeMutableBufferPointer { m in
                let mp = m.baseAddress!
                Parallelism.forEachIndex(s.n * piecesPerSample, workers: workers0) { i in
                    let n = i / piecesPerSample, p = i % piecesPerSample
                    let r0 = n * perSample + p * chunk, r1 = min(n * perSample + perSample, r0 + chunk)
                    mp[i] = emo_max_f32(KernelDispatch.f32, x + r0 * cin, (r1 - r0) * cin)
                }
            }
            for n in 0..<s.n {
                let m = maxima[(n * piecesPerSample)..<((n + 1) * piecesPerSample)].max() ?? 0
                clipScale[n] = m > 0 ? m / 255 : 1
            }
            let inverse = clipScale.map { 1 / $0 }
            inverse.withUnsafeBufferPointer { inv in
                let ip = inv.baseAddress!
                Parallelism.forEachIndex(s.n * piecesPerSample, workers: workers0) { i in
                    let n = i / piecesPerSample, p = i % piecesPerSample
                    let r0 = n * perSample + p * chunk, r1 = min(n * perSample + perSample, r0 + chunk)
                    emo_quantize_u8(isa, x + r0 * cin, r1 - r0, cin, ip[n], (xq + r0 * cs).assumingMemoryBound(to: UInt8.self), cs)
                }
            }
        } else {
            Parallelism.forEachIndex(chunks, workers: workers0) { i in
                let r0 = i * chunk, r1 = min(inRows, r0 + chunk)
                emo_convert_bf16(isa, x + r0 * cin, r1 - r0, cin, (xq + r0 * cs * 2).assumingMemoryBound(to: UInt16.self), cs)
            }
        }

        // 2. Tiles of output rows: GEMM (int32 sums stored in y's memory for int8), then the epilogue.
        let tiles = tilingSource.tiles(rows: rows, ranges: selected, workers: workers0)
        let workers = max(1, min(threads, tiles.count))
        let k = kPadded
        let patchBytes = path == .im2col ? tiles.tileRows * k * eb : 0
        let perWorker = (patchBytes + PackedGEMM.mr * k * eb + 63) / 64 * 64
        let buffers = UnsafeMutableRawPointer(scratch.reserve((workers * perWorker + 3) / 4))
        let b = UnsafePointer(bias.pointer), weights = UnsafeRawPointer(packed)
        let frame = s.h * s.w, outPerSample = o.positionsPerSample
        let int8 = precision == .int8
        clipScale.withUnsafeBufferPointer { cscale in
            weightScale.withUnsafeBufferPointer { wscale in
                let csp = cscale.baseAddress!, wsp = wscale.baseAddress!
                Parallelism.forEachIndex(tiles.count, workers: workers) { worker, tile in
                    let patches = buffers + worker * perWorker, edge = patches + patchBytes
                    // One GEMM call of this precision: A (`a`, row stride `lda` elements) from the converted input or patches.
                    func gemm(_ m: Int, _ a: UnsafeRawPointer, _ lda: Int, depth: Int, kOffset: Int, _ c: UnsafeMutablePointer<Float>, accumulate: Bool) {
                        if int8 {
                            emo_gemm_u8s8_packed(isa, m, cout, depth, a.assumingMemoryBound(to: UInt8.self), lda,
                                                 weights.assumingMemoryBound(to: Int8.self), kOffset, k,
                                                 UnsafeMutableRawPointer(c).assumingMemoryBound(to: Int32.self), cout,
                                                 accumulate ? 1 : 0, edge.assumingMemoryBound(to: UInt8.self))
                        } else {
                            emo_gemm_bf16_packed(isa, m, cout, depth, a.assumingMemoryBound(to: UInt16.self), lda,
                                                 weights.assumingMemoryBound(to: UInt16.self), kOffset, k, c, cout,
                                                 accumulate ? 1 : 0, edge.assumingMemoryBound(to: UInt16.self))
                        }
                    }
                    let (r0, m) = tiles.rows(of: tile)
                    let out = y + r0 * cout
                    switch path {
                    case .pointwise:
                        gemm(m, UnsafeRawPointer(xq + r0 * cs * eb), cs, depth: cs, kOffset: 0, out, accumulate: false)
                    case .temporal:
                        gemm(m, UnsafeRawPointer(xq + r0 * cs * eb), cs, depth: cs, kOffset: g.pt * cs, out, accumulate: false)
                        for dt in 0..<g.kt where dt != g.pt {
                            let shift = dt - g.pt
                            Conv3D.forEachSourceRun(rows: r0, count: m, frameRows: frame, frames: s.t, shift: shift) { lo, hi in
                                gemm(hi - lo, UnsafeRawPointer(xq + (lo + shift * frame) * cs * eb), cs, depth: cs, kOffset: dt * cs,
                                     y + lo * cout, accumulate: true)
                            }
                        }
                    case .im2col:
                        Im2col.fill(bytes: UnsafeRawPointer(xq), tapBytes: cs * eb, s, g, output: o, rowStart: r0, rowCount: m,
                                    into: patches)
                        gemm(m, UnsafeRawPointer(patches), k, depth: k, kOffset: 0, out, accumulate: false)
                    }
                    if int8 {
                        // Rows of one clip share its scale: dequantize each clip's part of the tile.
                        var lo = r0
                        while lo < r0 + m {
                            let n = lo / outPerSample, hi = min(r0 + m, (n + 1) * outPerSample)
                            emo_dequantize(KernelDispatch.f32, y + lo * cout, hi - lo, cout, cout, csp[n], wsp, b,
                                           residual.map { $0 + lo * cout }, relu ? 1 : 0)
                            lo = hi
                        }
                    } else {
                        Epilogue.apply(out, rows: m, cols: cout, ld: cout, bias: b, residual: residual.map { $0 + r0 * cout }, relu: relu)
                    }
                }
            }
        }
        return o
    }
}
