import Foundation

/// The deterministic weight rule of `shared/parity/reference/synth.py`, bit for bit.
///
/// No weights of the published models may be shipped or exist here, so every parity check and every fixture model
/// uses parameters generated from their state-dict names by this rule (splitmix64 over the FNV-1a hash of the name).
public enum SyntheticWeights {
    public static func fnv1a64(_ s: String) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in s.utf8 { h ^= UInt64(b); h = h &* 0x0000_0100_0000_01B3 }
        return h
    }

    /// Element i of the uniform stream of `name`: exactly representable float32 values in [-1, 1).
    public static func uniform(_ name: String, count: Int, salt: String = "") -> [Float] {
        let seed = fnv1a64(salt + name)
        var out = [Float](repeating: 0, count: count)
        for i in 0..<count {
            var z = seed &+ UInt64(i + 1) &* 0x9E37_79B9_7F4A_7C15
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z = z ^ (z >> 31)
            out[i] = Float(Double(z >> 40) / Double(1 << 23) - 1.0)
        }
        return out
    }

    public static func uniformTensor(_ name: String, shape: [Int], scale: Float = 1, salt: String = "") -> Tensor {
        var v = uniform(name, count: shape.reduce(1, *), salt: salt)
        if scale != 1 { for i in v.indices { v[i] *= scale } }
        return Tensor(shape: shape, values: v)
    }

    /// The parameter rule: scale by kind of parameter, all in float32.
    /// `num_batches_tracked` is an int64 zero and has no float form; callers write it as I64.
    public static func parameter(_ name: String, shape: [Int], salt: String = "") -> Tensor {
        let v = uniform(name, count: shape.reduce(1, *), salt: salt)
        let out: [Float]
        if name.hasSuffix("running_var") {
            out = v.map { Float(1) + Float(0.25) * $0 }
        } else if name.hasSuffix("running_mean") {
            out = v.map { Float(0.1) * $0 }
        } else if shape.count == 1 {
            out = name.hasSuffix("weight") ? v.map { Float(1) + Float(0.1) * $0 } : v.map { Float(0.1) * $0 }
        } else if name.hasSuffix("init_hidden") {
            out = v.map { Float(0.1) * $0 }
        } else {
            let fanIn = shape.dropFirst().reduce(1, *)
            let s = Float(sqrt(3.0 / Double(fanIn)))
            out = v.map { $0 * s }
        }
        return Tensor(shape: shape, values: out)
    }

    /// The keys of a `*.keys.txt` file, one `name shape dtype` line each.
    public static func parseKeys(_ text: String) throws -> [StateDictKey] {
        try text.split(separator: "\n").compactMap { line -> StateDictKey? in
            let parts = line.split(separator: " ")
            if parts.isEmpty { return nil }
            guard parts.count == 3 else { throw SafeTensorsError("bad keys line: \(line)") }
            let shape: [Int] = parts[1] == "scalar" ? [] : try parts[1].split(separator: "x").map {
                guard let d = Int($0) else { throw SafeTensorsError("bad shape in keys line: \(line)") }
                return d
            }
            return StateDictKey(String(parts[0]), shape, dtype: String(parts[2]))
        }
    }

    /// A whole weights file for a list of keys, as the reference generator writes it with `--weights`.
    public static func writer(for keys: [StateDictKey], salt: String = "", metadata: [String: String] = [:]) -> SafeTensorsWriter {
        var w = SafeTensorsWriter(metadata: metadata.merging(["salt": salt, "rule": "synth.py"]) { a, _ in a })
        for k in keys {
            if k.dtype == "int64" {
                w.add(.init(k.name, int64: [Int64](repeating: 0, count: max(1, k.shape.reduce(1, *))), shape: k.shape))
            } else {
                w.add(k.name, parameter(k.name, shape: k.shape, salt: salt))
            }
        }
        return w
    }
}
