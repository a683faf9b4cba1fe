import Kernels

/// A model output that is NaN or ±Inf. Finite weights can still make a forward overflow (values near float32's
/// limit), and such a number must never become a row: clipping to [-1, 1] would turn NaN into −1 and exit 0.
public struct NonFiniteOutputError: Error, CustomStringConvertible, Sendable {
    /// The weights file of the model that produced it.
    public let weights: String
    /// Which output (e.g. "valence").
    public let output: String
    /// Its first non-finite element.
    public let index: Int

    public var description: String {
        "\(weights): the model's \(output) output is not a finite number (NaN or Inf at element \(index)); its weights "
            + "make the computation overflow (use the published checkpoint, converted with `emopipe convert`)"
    }
}

/// The check callers of a model run on what they are about to use (features, a head's valence and arousal):
/// one pass over the values.
public enum FiniteOutput {
    /// Throws `NonFiniteOutputError` when any of the `count` values is NaN or ±Inf.
    public static func require(_ values: UnsafePointer<Float>, count: Int, output: String, weights: String) throws {
        if let i = Kernels.firstNonFinite(values, count: count) { throw NonFiniteOutputError(weights: weights, output: output, index: i) }
    }
}

extension Tensor {
    /// `FiniteOutput.require` over the whole tensor.
    public func requireFinite(output: String, weights: String) throws {
        try FiniteOutput.require(pointer, count: count, output: output, weights: weights)
    }
}
