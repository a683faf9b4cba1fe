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

extension Tensor {
    /// Throws `NonFiniteOutputError` when any element is NaN or ±Inf: one pass over the values, for the caller of a
    /// model to run on what it is about to turn into rows (`head.forward`'s valence and arousal).
    public func requireFinite(output: String, weights: String) throws {
        if let i = firstNonFinite() { throw NonFiniteOutputError(weights: weights, output: output, index: i) }
    }
}
