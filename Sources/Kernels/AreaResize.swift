/// Resizing by adaptive average pooling — PyTorch's `F.interpolate(mode="area")`, which is `adaptive_avg_pool2d`:
/// output pixel (i, j) of an oh × ow result is the plain mean of input rows [⌊i·H/oh⌋, ⌈(i+1)·H/oh⌉) and columns
/// [⌊j·W/ow⌋, ⌈(j+1)·W/ow⌉) (overlapping windows when the sizes do not divide; single pixels repeated when enlarging).
///
/// The input here is 8-bit packed pixels (an RGB frame), read in place from a rectangle of a larger image, and the
/// output is channels-last Float. PyTorch averages the float copy of such pixels as `sum / kh / kw` (two roundings,
/// checked against torch 2.13); the window sums of 8-bit values are integers, exact in Float up to 2²⁴ (windows of up
/// to 65 793 pixels), so computing them in integers — separably, or from a summed-area table — gives the same bits as
/// its direct 2-D loop (the tests' naive reference). An affine map (v − shift) · scale follows (MTCNN's
/// (x − 127.5) · 0.0078125).
public enum AreaResize {
    /// Largest window (pixels) whose 8-bit sums fit UInt32; PyTorch's float sums are exact up to 65 793 pixels.
    public static let maxWindowPixels = 16_843_009

    /// The largest window length along an axis of `inSize` pooled to `outSize`.
    @inline(__always) static func maxWindow(_ inSize: Int, _ outSize: Int) -> Int { (inSize + outSize - 1) / outSize + 1 }

    /// Window bounds [start, end) of output index `i` of `outSize` over an input of `inSize` (ATen's start_index /
    /// end_index, in integers).
    @inline(__always) public static func window(_ i: Int, outSize: Int, inSize: Int) -> (start: Int, end: Int) {
        ((i * inSize) / outSize, ((i + 1) * inSize + outSize - 1) / outSize)
    }

    /// - Parameters:
    ///   - source: 8-bit pixels, `channels` per pixel, rows `rowStride` bytes apart; the rectangle starts at `source`.
    ///   - width, height: the rectangle's size (≥ 1 each); outWidth, outHeight ≥ 1.
    ///   - output: outHeight × outWidth × channels floats.
    /// Separable and exact: each input row's window sums per output column (integers), then the rows of each output
    /// row's window — reads every input pixel about once, for a crop that is read once.
    public static func resize(_ source: UnsafePointer<UInt8>, width: Int, height: Int, rowStride: Int, channels: Int,
                              outWidth: Int, outHeight: Int, into output: UnsafeMutablePointer<Float>,
                              shift: Float = 0, scale: Float = 1) {
        precondition(width >= 1 && height >= 1 && outWidth >= 1 && outHeight >= 1 && channels >= 1,
                     "area resize \(width)×\(height) → \(outWidth)×\(outHeight)")
        precondition(maxWindow(width, outWidth) * maxWindow(height, outHeight) <= maxWindowPixels,
                     "area resize \(width)×\(height) → \(outWidth)×\(outHeight): windows too large for exact sums")
        let rowEntries = outWidth &* channels
        let cols = UnsafeMutablePointer<(start: Int, end: Int)>.allocate(capacity: outWidth)
        let rowSums = UnsafeMutablePointer<UInt32>.allocate(capacity: height &* rowEntries)
        let acc = UnsafeMutablePointer<UInt32>.allocate(capacity: rowEntries)
        defer { cols.deallocate(); rowSums.deallocate(); acc.deallocate() }
        for j in 0..<outWidth { cols[j] = window(j, outSize: outWidth, inSize: width) }
        // Horizontal: row r's sum over each output column's window.
        for r in 0..<height {
            let row = source + r &* rowStride, sums = rowSums + r &* rowEntries
            for j in 0..<outWidth {
                let (c0, c1) = cols[j]
                if channels == 3 {
                    var a: UInt32 = 0, b: UInt32 = 0, c: UInt32 = 0
                    var p = row + c0 &* 3
                    for _ in c0..<c1 { a &+= UInt32(p[0]); b &+= UInt32(p[1]); c &+= UInt32(p[2]); p += 3 }
                    sums[j &* 3] = a; sums[j &* 3 &+ 1] = b; sums[j &* 3 &+ 2] = c
                } else {
                    for ch in 0..<channels {
                        var a: UInt32 = 0
                        for x in c0..<c1 { a &+= UInt32(row[x &* channels &+ ch]) }
                        sums[j &* channels &+ ch] = a
                    }
                }
            }
        }
        // Vertical: each output row's window of row sums; then mean = sum / kh / kw (PyTorch's two divisions).
        for i in 0..<outHeight {
            let (r0, r1) = window(i, outSize: outHeight, inSize: height)
            acc.initialize(repeating: 0, count: rowEntries)
            for r in r0..<r1 {
                let sums = rowSums + r &* rowEntries
                for e in 0..<rowEntries { acc[e] &+= sums[e] }
            }
            let kh = Float(r1 &- r0)
            let out = output + i &* rowEntries
            for j in 0..<outWidth {
                let kw = Float(cols[j].end &- cols[j].start)
                for ch in 0..<channels {
                    let o = j &* channels &+ ch
                    out[o] = (Float(acc[o]) / kh / kw - shift) * scale
                }
            }
        }
    }
}

/// A summed-area table of 8-bit packed pixels: entry (y, x, c) is the sum of channel c over rows 0..<y and columns
/// 0..<x, so any rectangle's sum takes four reads. The sums are exact integers (UInt32, wrapping), which is what lets
/// `AreaResize.resize(table:)` give the same bits as the direct loop (Float holds the window sums exactly up to
/// 65 793 pixels, as PyTorch's float accumulation does).
public final class SummedAreaTable {
    public private(set) var width = 0, height = 0, channels = 0
    private var storage: UnsafeMutablePointer<UInt32>?
    private var capacity = 0

    public init() {}
    deinit { storage?.deallocate() }

    /// Rebuilds the table for `source` (height rows of width × channels bytes, `rowStride` bytes apart). The entries
    /// wrap modulo 2³² on frames of more than 16.8 M pixels; a rectangle's sum, taken with the same wrapping
    /// arithmetic, is still exact as long as it is below 2³² (any window of `AreaResize.maxWindowPixels`).
    public func build(_ source: UnsafePointer<UInt8>, width: Int, height: Int, rowStride: Int, channels: Int) {
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

    /// The (height + 1) × (width + 1) × channels entries (valid after `build`).
    var entries: UnsafePointer<UInt32> { UnsafePointer(storage!) }
}

extension AreaResize {
    /// `resize` of the rectangle [x0, x0 + width) × [y0, y0 + height) of the image a summed-area table was built from
    /// (default: all of it): the same bits as the direct loop, in time proportional to the output — the pyramid levels
    /// and the crops of a large frame would otherwise each read all their pixels.
    public static func resize(table: SummedAreaTable, x0: Int = 0, y0: Int = 0, width: Int? = nil, height: Int? = nil,
                              outWidth: Int, outHeight: Int, into output: UnsafeMutablePointer<Float>,
                              shift: Float = 0, scale: Float = 1) {
        let w = width ?? table.width, h = height ?? table.height, channels = table.channels
        precondition(w >= 1 && h >= 1 && outWidth >= 1 && outHeight >= 1 && x0 >= 0 && y0 >= 0
                     && x0 + w <= table.width && y0 + h <= table.height
                     && maxWindow(w, outWidth) * maxWindow(h, outHeight) <= maxWindowPixels,
                     "area resize of \(w)×\(h) at (\(x0), \(y0)) in \(table.width)×\(table.height) → \(outWidth)×\(outHeight)")
        let t = table.entries, rowEntries = (table.width &+ 1) &* channels
        // Column offsets (in table entries) of each output column's window, once.
        let cols = UnsafeMutablePointer<(start: Int, end: Int, size: Float)>.allocate(capacity: outWidth)
        defer { cols.deallocate() }
        for j in 0..<outWidth {
            let (c0, c1) = window(j, outSize: outWidth, inSize: w)
            cols[j] = ((x0 &+ c0) &* channels, (x0 &+ c1) &* channels, Float(c1 &- c0))
        }
        for i in 0..<outHeight {
            let (r0, r1) = window(i, outSize: outHeight, inSize: h)
            let kh = Float(r1 &- r0)
            let top = t + (y0 &+ r0) &* rowEntries, bottom = t + (y0 &+ r1) &* rowEntries
            let out = output + i &* outWidth &* channels
            for j in 0..<outWidth {
                let c = cols[j]
                for ch in 0..<channels {
                    let sum = bottom[c.end &+ ch] &- top[c.end &+ ch] &- bottom[c.start &+ ch] &+ top[c.start &+ ch]
                    out[j &* channels &+ ch] = (Float(sum) / kh / c.size - shift) * scale
                }
            }
        }
    }
}
