import Kernels

/// A backbone's convolutions converted to one reduced precision (bf16 or int8): made once from its fp32
/// convolutions, whose weights stay shared, and looked up by the fp32 convolution each one replaces. In fp32 there
/// are none. Each backbone says which of its convolutions it converts (not the stem, whose input is signed).
struct ReducedConvolutions: Sendable {
    let precision: Precision
    private let byConvolution: [ObjectIdentifier: ReducedConv3D]

    /// The fp32 network: nothing converted.
    static let fp32 = ReducedConvolutions(precision: .fp32, byConvolution: [:])

    private init(precision: Precision, byConvolution: [ObjectIdentifier: ReducedConv3D]) {
        self.precision = precision
        self.byConvolution = byConvolution
    }

    /// `convolutions` converted to `precision` (none for fp32).
    init(_ convolutions: [Conv3D], precision: Precision) {
        var converted: [ObjectIdentifier: ReducedConv3D] = [:]
        if precision != .fp32 {
            for conv in convolutions { converted[ObjectIdentifier(conv)] = ReducedConv3D(conv, precision: precision) }
        }
        self.init(precision: precision, byConvolution: converted)
    }

    /// The converted form of `conv`, or nil when it runs in fp32.
    subscript(_ conv: Conv3D) -> ReducedConv3D? { byConvolution[ObjectIdentifier(conv)] }

    /// `conv` in this precision: its converted form when it has one (the input converted into `converted`), else
    /// fp32. Same contract as `Conv3D.forward`.
    func forward(_ conv: Conv3D, _ x: UnsafePointer<Float>, _ s: ActivationShape, into y: UnsafeMutablePointer<Float>,
                 residual: UnsafePointer<Float>?, relu: Bool, scratch: ScratchBuffer, converted: ScratchBuffer, threads: Int,
                 rows: [Range<Int>]? = nil) -> ActivationShape {
        if let r = self[conv] {
            return r.forward(x, s, into: y, residual: residual, relu: relu, scratch: scratch, converted: converted,
                             threads: threads, rows: rows)
        }
        return conv.forward(x, s, into: y, residual: residual, relu: relu, scratch: scratch, threads: threads, rows: rows)
    }
}
