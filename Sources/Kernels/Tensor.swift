/// A dense float32 tensor in row-major order (PyTorch's contiguous layout: NCTHW, NCHW, (out, in) for linears).
///
/// Storage is one 64-byte-aligned allocation owned by the tensor. A tensor is written by one stage and then
/// handed on or shared read-only (weights), which is why it is `@unchecked Sendable`.
public final class Tensor: @unchecked Sendable {
    public let shape: [Int]
    public let count: Int
    public let data: UnsafeMutableBufferPointer<Float>

    /// A zero-filled tensor.
    public init(zeros shape: [Int]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in \(shape)")
        self.shape = shape
        self.count = shape.reduce(1, *)
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * MemoryLayout<Float>.stride, alignment: 64)
        let typed = raw.bindMemory(to: Float.self, capacity: max(count, 1))
        typed.initialize(repeating: 0, count: max(count, 1))
        self.data = UnsafeMutableBufferPointer(start: typed, count: count)
    }

    public convenience init(shape: [Int], values: [Float]) {
        self.init(zeros: shape)
        precondition(values.count == count, "\(values.count) values for shape \(shape)")
        _ = UnsafeMutableBufferPointer(rebasing: data[...]).initialize(from: values)
    }

    public convenience init(shape: [Int], fill: (UnsafeMutableBufferPointer<Float>) -> Void) {
        self.init(zeros: shape)
        fill(data)
    }

    deinit { data.baseAddress.map { UnsafeMutableRawPointer($0).deallocate() } }

    public var rank: Int { shape.count }
    public var pointer: UnsafeMutablePointer<Float> { data.baseAddress! }
    public var array: [Float] { Array(data) }

    public subscript(i: Int) -> Float {
        get { data[i] }
        set { data[i] = newValue }
    }

    /// A copy with another shape of the same element count.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        precondition(newShape.reduce(1, *) == count, "cannot reshape \(shape) to \(newShape)")
        let t = Tensor(zeros: newShape)
        t.pointer.update(from: pointer, count: count)
        return t
    }

    public func copy() -> Tensor { reshaped(shape) }

    /// Elements `[from, from + n)` along the first axis, as a new tensor.
    public func slice(first from: Int, count n: Int) -> Tensor {
        precondition(rank >= 1 && from >= 0 && from + n <= shape[0], "slice \(from)..<\(from + n) of \(shape)")
        let inner = shape.dropFirst().reduce(1, *)
        let t = Tensor(zeros: [n] + shape.dropFirst())
        t.pointer.update(from: pointer + from * inner, count: n * inner)
        return t
    }

    /// The index of the first NaN or infinite element, nil when all are finite (`Kernels.firstNonFinite`).
    public func firstNonFinite() -> Int? { Kernels.firstNonFinite(pointer, count: count) }

    public static func shapeString(_ s: [Int]) -> String { "(" + s.map(String.init).joined(separator: ",") + ")" }
}

extension Tensor: CustomStringConvertible {
    public var description: String { "Tensor\(Tensor.shapeString(shape))" }
}

/// The index of the first NaN or infinite value of `count` floats, nil when all are finite. A cheap pass (about the cost
/// of a copy): what loaders and callers of a model use to refuse numbers that would otherwise turn into clipped rows.
public func firstNonFinite(_ p: UnsafePointer<Float>, count: Int) -> Int? {
    var i = 0
    // Blocks of 16: one vector test per block, the exact element only when a block holds one.
    while i &+ 16 <= count {
        let v = UnsafeRawPointer(p + i).loadUnaligned(as: SIMD16<Float>.self)
        if any((v - v) .!= 0) { break }   // x − x is 0 for finite x, NaN for NaN and ±Inf
        i &+= 16
    }
    while i < count {
        if !p[i].isFinite { return i }
        i &+= 1
    }
    return nil
}

/// Largest absolute difference between two equally shaped tensors.
public func maxAbsDifference(_ a: Tensor, _ b: Tensor) -> Float {
    precondition(a.count == b.count, "shapes \(a.shape) and \(b.shape) differ")
    var m: Float = 0
    for i in 0..<a.count { m = max(m, abs(a.data[i] - b.data[i])) }
    return m
}
