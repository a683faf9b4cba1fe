import Kernels

extension StateDictKey {
    /// The keys of a Conv without bias followed by a BatchNorm, in state_dict order.
    static func convBN(conv: String, bn: String, weight shape: [Int]) -> [StateDictKey] {
        [StateDictKey(conv + ".weight", shape)] + batchNorm(bn, channels: shape[0])
    }

    static func batchNorm(_ prefix: String, channels c: Int) -> [StateDictKey] {
        ["weight", "bias", "running_mean", "running_var"].map { StateDictKey("\(prefix).\($0)", [c]) }
            + [StateDictKey("\(prefix).num_batches_tracked", [], dtype: "int64")]
    }
}

/// Reads model parameters by their PyTorch state_dict names from a safetensors file, checking each shape.
public struct StateDictReader: Sendable {
    public let file: SafeTensorsFile

    public init(_ file: SafeTensorsFile) { self.file = file }

    /// The float tensor `name`, which must have shape `shape`.
    public func tensor(_ name: String, _ shape: [Int]) throws -> Tensor {
        guard let e = file.entries[name] else {
            throw WeightsError("\(file.path): missing tensor \(name) \(Tensor.shapeString(shape)); the file must be a TSAV state_dict in safetensors form (see docs/weights.md)")
        }
        guard e.shape == shape else {
            throw WeightsError("\(file.path): tensor \(name) has shape \(Tensor.shapeString(e.shape)), expected \(Tensor.shapeString(shape))")
        }
        return try file.tensor(name)
    }

    /// The BatchNorm parameters under `prefix` (`prefix.weight`, `.bias`, `.running_mean`, `.running_var`).
    public func batchNorm(_ prefix: String, channels c: Int) throws -> BatchNormParameters {
        BatchNormParameters(gamma: try tensor(prefix + ".weight", [c]).array, beta: try tensor(prefix + ".bias", [c]).array,
                            mean: try tensor(prefix + ".running_mean", [c]).array,
                            variance: try tensor(prefix + ".running_var", [c]).array)
    }

    /// A bias-free convolution `conv` with the BatchNorm `bn` folded in.
    public func convBN(conv: String, bn: String, shape: [Int], stride: (Int, Int, Int), padding: (Int, Int, Int)) throws -> Conv3D {
        let w = try tensor(conv + ".weight", shape)
        return Conv3D(weight: w, batchNorm: try batchNorm(bn, channels: shape[0]), stride: stride, padding: padding)
    }

    /// Checks the file against an expected key list: every key present with its shape (keys for which `optional`
    /// is true may be absent, but are checked when present), and nothing else. All problems are listed (up to 10)
    /// in one error.
    public func validate(against keys: [StateDictKey], allowingShapes alternatives: [String: [[Int]]] = [:],
                         optional: (StateDictKey) -> Bool = { _ in false }) throws {
        var problems: [String] = []
        let expected = Dictionary(uniqueKeysWithValues: keys.map { ($0.name, $0) })
        for k in keys {
            guard let e = file.entries[k.name] else {
                if !optional(k) { problems.append("missing tensor \(k.name) \(Tensor.shapeString(k.shape))") }
                continue
            }
            let allowed = [k.shape] + (alternatives[k.name] ?? [])
            // num_batches_tracked is a scalar int64 in PyTorch; some exporters store it as shape (1).
            let isCounter = k.dtype == "int64" && (e.shape == [] || e.shape == [1])
            if !allowed.contains(e.shape) && !isCounter {
                problems.append("tensor \(k.name) has shape \(Tensor.shapeString(e.shape)), expected \(Tensor.shapeString(k.shape))")
            }
        }
        for name in file.names where expected[name] == nil {
            problems.append("unexpected tensor \(name) \(Tensor.shapeString(file.entries[name]!.shape))")
        }
        guard problems.isEmpty else {
            let shown = problems.prefix(10).joined(separator: "; ")
            let more = problems.count > 10 ? " (and \(problems.count - 10) more)" : ""
            throw WeightsError("\(file.path): not a TSAV checkpoint: \(shown)\(more)")
        }
    }
}
