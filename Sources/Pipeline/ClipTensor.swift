/// Visual input normalization of TSAV: RGB scaled to [0, 1], then per channel (x − mean) / std with the Kinetics
/// statistics. A frame without a face is black: zeros before normalization, −mean/std after.
public enum ClipNormalization {
    public static let mean: [Float] = [0.43216, 0.394666, 0.37645]
    public static let std: [Float] = [0.22803, 0.22145, 0.216989]

    /// Writes one 8-frame clip as (3, 8, 112, 112) normalized floats at `out` (C, T, H, W order).
    /// `frames` are packed 112×112 RGB crops, oldest first; nil entries are black.
    public static func write(_ frames: [[UInt8]?], to out: UnsafeMutablePointer<Float>) {
        let t = frames.count, hw = cropSize * cropSize
        var lut = [[Float]](repeating: [Float](repeating: 0, count: 256), count: 3)
        for c in 0..<3 { for v in 0..<256 { lut[c][v] = (Float(v) / 255 - mean[c]) / std[c] } }
        for (ti, frame) in frames.enumerated() {
            for c in 0..<3 {
                let plane = out + (c * t + ti) * hw
                if let frame {
                    lut[c].withUnsafeBufferPointer { table in
                        frame.withUnsafeBufferPointer { px in
                            for i in 0..<hw { plane[i] = table[Int(px[i &* 3 &+ c])] }
                        }
                    }
                } else {
                    plane.update(repeating: lut[c][0], count: hw)
                }
            }
        }
    }
}
