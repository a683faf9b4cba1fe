import Testing
import Kernels

/// The kernels the face detector (MTCNN) adds — PReLU, ceil-mode max pooling, area resizing — against naive loops
/// written from PyTorch's definitions.
@Suite("Face detector kernels vs naive loops")
struct DetectorKernelsTests {
    @Test("PReLU: x, or slope·x below zero, per channel")
    func prelu() {
        var rng = RandomSource(state: 5)
        let rows = 37, c = 11
        let x = rng.tensor([rows * c]), slopes = rng.tensor([c])
        let y = x.copy()
        PReLU.apply(y.pointer, rows: rows, channels: c, slopes: slopes.pointer)
        for r in 0..<rows { for ch in 0..<c {
            let v = x[r * c + ch]
            #expect(y[r * c + ch] == (v >= 0 ? v : slopes[ch] * v))
        } }
    }

    /// Output sizes printed by torch 2.13 `max_pool2d(..., ceil_mode=True)` for these (size, kernel, stride).
    static let ceilSizes: [(Int, Int, Int, Int)] = [(22, 3, 2, 11), (9, 3, 2, 4), (46, 3, 2, 23), (21, 3, 2, 10), (8, 2, 2, 4),
                                                    (23, 2, 2, 12), (7, 3, 2, 3), (5, 2, 2, 3), (383, 2, 2, 192), (10, 3, 2, 5)]

    @Test("Ceil-mode max pool: PyTorch's output sizes, partial last windows pooled over the taps that exist")
    func maxPoolCeil() {
        for (n, k, s, expected) in Self.ceilSizes {
            #expect(Pooling.pooledSize(n, kernel: k, stride: s, padding: 0, ceilMode: true) == expected, "\(n) k\(k) s\(s)")
        }
        var rng = RandomSource(state: 9)
        for (h, w, k, s) in [(22, 23, 3, 2), (9, 8, 3, 2), (7, 5, 2, 2), (10, 10, 3, 2)] {
            let c = 4, frames = 3
            let x = rng.tensor([frames * h * w * c])
            let oh = Pooling.pooledSize(h, kernel: k, stride: s, padding: 0, ceilMode: true)
            let ow = Pooling.pooledSize(w, kernel: k, stride: s, padding: 0, ceilMode: true)
            let y = Tensor(zeros: [frames * oh * ow * c])
            let o = Pooling.maxPool2D(x.pointer, ActivationShape(n: frames, h: h, w: w, c: c), kernel: k, stride: s, padding: 0,
                                      ceilMode: true, into: y.pointer)
            #expect(o == ActivationShape(n: frames, h: oh, w: ow, c: c))
            for f in 0..<frames { for i in 0..<oh { for j in 0..<ow { for ch in 0..<c {
                var m = -Float.infinity
                for a in (i * s)..<min(h, i * s + k) { for b in (j * s)..<min(w, j * s + k) {
                    m = max(m, x[((f * h + a) * w + b) * c + ch])
                } }
                #expect(y[((f * oh + i) * ow + j) * c + ch] == m)
            } } } }
        }
    }

    /// PyTorch's adaptive average pooling from its definition: windows [⌊i·in/out⌋, ⌈(i+1)·in/out⌉), the float sum of
    /// the window divided by its height, then by its width.
    static func naiveArea(_ px: [UInt8], width: Int, height: Int, channels: Int, x0: Int, y0: Int, w: Int, h: Int,
                          outW: Int, outH: Int) -> [Float] {
        var out = [Float](repeating: 0, count: outW * outH * channels)
        for i in 0..<outH {
            let r0 = Int((Double(i * h) / Double(outH)).rounded(.down)), r1 = Int((Double((i + 1) * h) / Double(outH)).rounded(.up))
            for j in 0..<outW {
                let c0 = Int((Double(j * w) / Double(outW)).rounded(.down)), c1 = Int((Double((j + 1) * w) / Double(outW)).rounded(.up))
                for ch in 0..<channels {
                    var s: Float = 0
                    for r in r0..<r1 { for c in c0..<c1 { s += Float(px[((y0 + r) * width + x0 + c) * channels + ch]) } }
                    out[(i * outW + j) * channels + ch] = s / Float(r1 - r0) / Float(c1 - c0)
                }
            }
        }
        return out
    }

    @Test("Area resize (direct and from a summed-area table) equals the definition bit for bit",
          arguments: [(40, 30, 24, 24), (37, 53, 13, 20), (12, 9, 24, 24), (640, 360, 217, 385), (7, 5, 48, 48), (100, 100, 100, 100)])
    func areaResize(_ d: (Int, Int, Int, Int)) {
        let (width, height, outH, outW) = d
        var rng = RandomSource(state: UInt64(width * 1000 + height))
        let channels = 3
        let px = (0..<(width * height * channels)).map { _ in UInt8(truncatingIfNeeded: rng.next() >> 56) }
        let expected = Self.naiveArea(px, width: width, height: height, channels: channels, x0: 0, y0: 0, w: width, h: height,
                                      outW: outW, outH: outH)
        var direct = [Float](repeating: 0, count: expected.count), fromTable = direct
        let table = SummedAreaTable()
        px.withUnsafeBufferPointer { p in
            AreaResize.resize(p.baseAddress!, width: width, height: height, rowStride: width * channels, channels: channels,
                              outWidth: outW, outHeight: outH, into: &direct)
            table.build(p.baseAddress!, width: width, height: height, rowStride: width * channels, channels: channels)
        }
        AreaResize.resize(table: table, outWidth: outW, outHeight: outH, into: &fromTable)
        #expect(direct == expected)
        #expect(fromTable == expected)
        // With MTCNN's normalisation: (mean − 127.5) · 2⁻⁷.
        var normalised = [Float](repeating: 0, count: expected.count)
        AreaResize.resize(table: table, outWidth: outW, outHeight: outH, into: &normalised, shift: 127.5, scale: 0.0078125)
        #expect(normalised == expected.map { ($0 - 127.5) * 0.0078125 })
    }

    @Test("Area resize of a rectangle inside a larger image reads only that rectangle")
    func areaResizeOfACrop() {
        var rng = RandomSource(state: 77)
        let width = 50, height = 40, channels = 3
        let px = (0..<(width * height * channels)).map { _ in UInt8(truncatingIfNeeded: rng.next() >> 56) }
        let (x0, y0, w, h) = (7, 11, 29, 17)
        let expected = Self.naiveArea(px, width: width, height: height, channels: channels, x0: x0, y0: y0, w: w, h: h, outW: 24, outH: 24)
        var out = [Float](repeating: 0, count: expected.count)
        px.withUnsafeBufferPointer { p in
            AreaResize.resize(p.baseAddress! + (y0 * width + x0) * channels, width: w, height: h, rowStride: width * channels,
                              channels: channels, outWidth: 24, outHeight: 24, into: &out)
        }
        #expect(out == expected)
    }
}
