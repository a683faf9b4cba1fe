/// Geometry of a 3-D convolution: kernel (kT, kH, kW), stride and zero padding per axis.
/// A 2-D convolution is the case kT = 1, stride T 1, padding T 0.
public struct ConvGeometry: Sendable, Equatable, CustomStringConvertible {
    public let inChannels: Int, outChannels: Int
    public let kt: Int, kh: Int, kw: Int
    public let st: Int, sh: Int, sw: Int
    public let pt: Int, ph: Int, pw: Int

    public init(inChannels: Int, outChannels: Int, kernel: (Int, Int, Int), stride: (Int, Int, Int) = (1, 1, 1),
                padding: (Int, Int, Int) = (0, 0, 0)) {
        precondition(inChannels > 0 && outChannels > 0, "convolution needs channels, got \(inChannels)→\(outChannels)")
        precondition(kernel.0 > 0 && kernel.1 > 0 && kernel.2 > 0, "kernel \(kernel) must be positive")
        precondition(stride.0 > 0 && stride.1 > 0 && stride.2 > 0, "stride \(stride) must be positive")
        precondition(padding.0 >= 0 && padding.1 >= 0 && padding.2 >= 0, "padding \(padding) must be non-negative")
        self.inChannels = inChannels; self.outChannels = outChannels
        (kt, kh, kw) = kernel
        (st, sh, sw) = stride
        (pt, ph, pw) = padding
    }

    /// Rows of the im2col matrix: kT·kH·kW·C_in, ordered (dt, dh, dw, c_in).
    public var k: Int { kt * kh * kw * inChannels }

    /// Output shape for a channels-last input, or nil when the input is too small for the kernel.
    public func outputShape(_ s: ActivationShape) -> ActivationShape? {
        let t = (s.t + 2 * pt - kt) / st + 1, h = (s.h + 2 * ph - kh) / sh + 1, w = (s.w + 2 * pw - kw) / sw + 1
        guard s.t + 2 * pt >= kt, s.h + 2 * ph >= kh, s.w + 2 * pw >= kw else { return nil }
        return ActivationShape(n: s.n, t: t, h: h, w: w, c: outChannels)
    }

    public var description: String {
        "conv \(inChannels)→\(outChannels) kernel (\(kt),\(kh),\(kw)) stride (\(st),\(sh),\(sw)) padding (\(pt),\(ph),\(pw))"
    }
}

/// Channels-last im2col, one tile of output rows at a time.
public enum Im2col {
    /// Fills `dst` (rowCount × K, row-major) with the patches of output positions
    /// [rowStart, rowStart + rowCount) of a channels-last input; out-of-range taps are zeros.
    public static func fill(_ input: UnsafePointer<Float>, _ s: ActivationShape, _ g: ConvGeometry, output o: ActivationShape,
                            rowStart: Int, rowCount: Int, into dst: UnsafeMutablePointer<Float>) {
        fill(bytes: UnsafeRawPointer(input), tapBytes: g.inChannels &* MemoryLayout<Float>.stride, s, g, output: o,
             rowStart: rowStart, rowCount: rowCount, into: UnsafeMutableRawPointer(dst))
    }

    /// The same on bytes: one tap (an input position's channels) is `tapBytes` bytes, so the one loop serves fp32
    /// input and the reduced-precision convolutions' converted input (u8 or bf16, channels padded to a stride).
    /// Rows are kT·kH·kW taps. Along W the taps of one (dt, dh) are adjacent in memory, so each run is one copy.
    public static func fill(bytes input: UnsafeRawPointer, tapBytes: Int, _ s: ActivationShape, _ g: ConvGeometry,
                            output o: ActivationShape, rowStart: Int, rowCount: Int, into dst: UnsafeMutableRawPointer) {
        let runBytes = g.kw &* tapBytes, rowBytes = g.kt &* g.kh &* runBytes
        // Decompose the first row index into (n, to, ho, wo) and step it like an odometer.
        var r = rowStart
        var wo = r % o.w; r /= o.w
        var ho = r % o.h; r /= o.h
        var to = r % o.t
        var n = r / o.t
        for row in 0..<rowCount {
            var d = dst + row &* rowBytes
            let w0 = wo &* g.sw &- g.pw
            let wLo = max(0, -w0), wHi = min(g.kw, s.w &- w0)  // valid taps dw ∈ [wLo, wHi)
            for dt in 0..<g.kt {
                let ti = to &* g.st &- g.pt &+ dt
                for dh in 0..<g.kh {
                    let hi = ho &* g.sh &- g.ph &+ dh
                    if ti < 0 || ti >= s.t || hi < 0 || hi >= s.h || wHi <= wLo {
                        d.initializeMemory(as: UInt8.self, repeating: 0, count: runBytes)
                    } else {
                        if wLo > 0 { d.initializeMemory(as: UInt8.self, repeating: 0, count: wLo &* tapBytes) }
                        let src = input + ((((n &* s.t &+ ti) &* s.h &+ hi) &* s.w &+ w0 &+ wLo) &* tapBytes)
                        (d + wLo &* tapBytes).copyMemory(from: src, byteCount: (wHi &- wLo) &* tapBytes)
                        if wHi < g.kw { (d + wHi &* tapBytes).initializeMemory(as: UInt8.self, repeating: 0, count: (g.kw &- wHi) &* tapBytes) }
                    }
                    d += runBytes
                }
            }
            wo &+= 1
            if wo == o.w { wo = 0; ho &+= 1; if ho == o.h { ho = 0; to &+= 1; if to == o.t { to = 0; n &+= 1 } } }
        }
    }
}
