import Kernels

/// `vregressor` / `aregressor`: Linear in→128, ReLU, Dropout (identity), Linear 128→1; no output activation.
/// State-dict indices `.0` and `.3`. `in` is 512 for the JCA family and 1024 for JMT.
public struct Regressor: Sendable {
    let first: Linear, last: Linear

    public init(_ p: ParameterScope, in inFeatures: Int = 512, hidden: Int = 128) {
        first = Linear(p.scope("0"), in: inFeatures, out: hidden)
        last = Linear(p.scope("3"), in: hidden, out: 1)
    }

    /// (B, L, in) → (B, L).
    public func callAsFunction(_ x: Tensor, threads: Int) -> Tensor {
        let h = first(x, threads: threads)
        Functional.reluInPlace(h)
        return Functional.squeezeLast(last(h, threads: threads))
    }
}
