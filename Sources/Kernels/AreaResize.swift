/// Resizing by adaptive average pooling — PyTorch's `F.interpolate(mode="area")`, which is `adaptive_avg_pool2d`:
/// output pixel (i, j) of an oh × ow result is the plain mean of input rows [⌊i·H/oh⌋, ⌈(i+1)·H/oh⌉) and columns
/// [⌊j·W/ow⌋, ⌈(j+1)·W/ow⌉) (overlapping windows when the sizes do not divide; single pixels repeated when enlarging).
///
/// The input here is 8-bit packed pixels (an RGB frame), read in place from a rectangle of a larger image, and the
/// output is channels-last Float. PyTorch averages the float copy of such pixels as `sum / kh / kw` (two roundings,
/// checked against torch 2.13); the sums of 8-bit values are exact in Float (below 2²⁴ for windows up to 65 000
/// pixels), so summing rows first and then columns gives the same bits as its direct 2-D loop. An affine map
/// (v − shift) · scale is applied to each mean afterwards (MTCNN's (x − 127.5) · 0.0078125).
public enum AreaResize {
    /// Window bounds [start, end) of output index `i` of `outSize` over an input of `inSize` (ATen's start_index /
    /// end_index, in integers).
    @inline(__always) public static func window(_ i: Int, outSize: Int, inSize: Int) -> (start: Int, end: Int) {
        ((i * inSize) / outSize, ((i + 1) * inSize + outSize - 1) / outSize)
    }

    /// - Parameters:
    ///   - source: 8-bit pixels, `channels` per pixel, rows `rowStride` bytes apart; the rectangle starts at `source`.
    ///   - width, height: the rectangle's size (≥ 1 each); outWidth, outHeight ≥ 1.
    ///   - output: outHeight × outWidth × channels floats.
    public static func resize(_ source: UnsafePointer<UInt8>, width: Int, height: Int, rowStride: Int, channels: Int,
                              outWidth: Int, outHeight: Int, into output: UnsafeMutablePointer<Float>,
                              shift: Float = 0, scale: Float = 1) {
        precondition(width >= 1 && height >= 1 && outWidth >= 1 && outHeight >= 1 && channels >= 1,
                     "area resize \(width)×\(height) → \(outWidth)×\(outHeight)")
        let rowFloats = outWidth &* channels
        // Column windows once; then per output row, per input row of its window: horizontal sums into `acc`.
        var columns = [(start: Int, end: Int)](repeating: (0, 0), count: outWidth)
        for j in 0..<outWidth { columns[j] = window(j, outSize: outWidth, inSize: width) }
        let acc = UnsafeMutablePointer<Float>.allocate(capacity: rowFloats)
        defer { acc.deallocate() }
        columns.withUnsafeBufferPointer { cols in
            for i in 0..<outHeight {
                let (r0, r1) = window(i, outSize: outHeight, inSize: height)
                acc.initialize(repeating: 0, count: rowFloats)
                for r in r0..<r1 {
                    let row = source + r &* rowStride
                    for j in 0..<outWidth {
                        let (c0, c1) = cols[j]
                        let a = acc + j &* channels
                        for x in c0..<c1 {
                            let p = row + x &* channels
                            for ch in 0..<channels { a[ch] += Float(p[ch]) }
                        }
                    }
                }
                let kh = Float(r1 &- r0)
                let out = output + i &* rowFloats
                for j in 0..<outWidth {
                    let kw = Float(cols[j].end &- cols[j].start)
                    for ch in 0..<channels {
                        let o = j &* channels &+ ch
                        out[o] = (acc[o] / kh / kw - shift) * scale
                    }
                }
            }
        }
    }
}

/// A summed-area table of 8-bit packed pixels: entry (y, x, c) is the sum of channel c over rows 0..<y and columns
/// 0..<x, so any rectangle's sum takes four reads. The sums are exact integers (UInt32: up to 16.8 M pixels of 255),
/// which is what lets `AreaResize.resize(table:)` give the same bits as the direct loop for every window of up to
/// 65 793 pixels (Float holds their sums exactly).
public final class SummedAreaTable {
    public private(set) var width = 0, height = 0, channels = 0
    private var storage: UnsafeMutablePointer<UInt32>?
    private var capacity = 0

    public init() {}
    deinit { storage?.deallocate() }

    /// Rebuilds the table for `source` (height rows of width × channels bytes, `rowStride` bytes apart).
    public func build(_ source: UnsafePointer<UInt8>, width: Int, height: Int, rowStride: Int, channels: Int) {
        precondition(width * height <= 16_843_009, "summed-area table of \(width)×\(height) could overflow UInt32")
        let rowEntries = (width + 1) * channels
        let count = (height + 1) * rowEntries
        if count > capacity {
            storage?.deallocate()
            storage = .allocate(capacity: count)
            capacity = count
        }
        let t = storage!
        self.width = width; self.height = height; self.channels = channels
        t.initialize(repeating: 0, count: rowEntries)
        for y in 0..<height {
            let src = source + y &* rowStride
            let above = t + y &* rowEntries, row = t + (y &+ 1) &* rowEntries
            for c in 0..<channels { row[c] = 0 }
            if channels == 3 {
                var r: UInt32 = 0, g: UInt32 = 0, b: UInt32 = 0
                for x in 0..<width {
                    let p = src + x &* 3, o = (x &+ 1) &* 3
                    r &+= UInt32(p[0]); g &+= UInt32(p[1]); b &+= UInt32(p[2])
                    row[o] = above[o] &+ r; row[o &+ 1] = above[o &+ 1] &+ g; row[o &+ 2] = above[o &+ 2] &+ b
                }
            } else {
                for c in 0..<channels {
                    var s: UInt32 = 0
                    for x in 0..<width {
                        s &+= UInt32(src[x &* channels &+ c])
                        let o = (x &+ 1) &* channels &+ c
                        row[o] = above[o] &+ s
                    }
                }
            }
        }
    }

    /// Sum of channel `c` over rows [y0, y1) and columns [x0, x1).
    @inline(__always) func sum(_ x0: Int, _ y0: Int, _ x1: Int, _ y1: Int, _ c: Int) -> UInt32 {
        let t = storage!, re = (width &+ 1) &* channels
        return t[y1 &* re &+ x1 &* channels &+ c] &- t[y0 &* re &+ x1 &* channels &+ c]
            &- t[y1 &* re &+ x0 &* channels &+ c] &+ t[y0 &* re &+ x0 &* channels &+ c]
    }
}

extension AreaResize {
    /// `resize` of the whole image a summed-area table was built from: the same result, in time proportional to the
    /// output (used for the pyramid levels of a large frame, each of which would otherwise read the whole frame).
    public static func resize(table: SummedAreaTable, outWidth: Int, outHeight: Int, into output: UnsafeMutablePointer<Float>,
                              shift: Float = 0, scale: Float = 1) {
        let w = table.width, h = table.height, channels = table.channels
        precondition(w >= 1 && h >= 1 && outWidth >= 1 && outHeight >= 1, "area resize \(w)×\(h) → \(outWidth)×\(outHeight)")
        var columns = [(start: Int, end: Int)](repeating: (0, 0), count: outWidth)
        for j in 0..<outWidth { columns[j] = window(j, outSize: outWidth, inSize: w) }
        columns.withUnsafeBufferPointer { cols in
            for i in 0..<outHeight {
                let (r0, r1) = window(i, outSize: outHeight, inSize: h)
                let kh = Float(r1 &- r0)
                let out = output + i &* outWidth &* channels
                for j in 0..<outWidth {
                    let (c0, c1) = cols[j]
                    let kw = Float(c1 &- c0)
                    for ch in 0..<channels {
                        let s = Float(table.sum(c0, r0, c1, r1, ch))
                        out[j &* channels &+ ch] = (s / kh / kw - shift) * scale
                    }
                }
            }
        }
    }
}
