import Kernels

/// `Conv2d`/`Conv3d(bias=False)` followed by `BatchNorm2d`/`3d`, as every convolution of both backbones is. Declared
/// under the two modules' scopes (`conv.weight`; `bn.weight`, `.bias`, `.running_mean`, `.running_var`,
/// `.num_batches_tracked`) and folded into one `Conv3D` at load: W' = W·γ/√(var+ε), b' = β − mean·γ/√(var+ε).
enum ConvBatchNorm {
    /// A 3-D convolution; `weight` is (C_out, C_in, kT, kH, kW).
    static func conv3D(_ conv: ParameterScope, _ bn: ParameterScope, weight shape: [Int],
                       stride: (Int, Int, Int), padding: (Int, Int, Int)) -> Conv3D {
        let (w, norm) = declare(conv, bn, weight: shape)
        return conv.whenRead({ Conv3D(weight: w, batchNorm: norm(), stride: stride, padding: padding) }, otherwise: placeholder)
    }

    /// A 2-D convolution; `weight` is (C_out, C_in, kH, kW).
    static func conv2D(_ conv: ParameterScope, _ bn: ParameterScope, weight shape: [Int], stride: Int, padding: Int) -> Conv3D {
        let (w, norm) = declare(conv, bn, weight: shape)
        return conv.whenRead({ Conv3D.conv2D(weight: w, batchNorm: norm(), stride: stride, padding: padding) }, otherwise: placeholder)
    }

    /// Declares the convolution's weight and the BatchNorm's parameters, in state-dict order.
    private static func declare(_ conv: ParameterScope, _ bn: ParameterScope,
                                weight shape: [Int]) -> (Tensor, () -> BatchNormParameters) {
        let weight = conv("weight", shape)
        let c = shape[0]
        let gamma = bn("weight", [c]), beta = bn("bias", [c]), mean = bn("running_mean", [c]), variance = bn("running_var", [c])
        bn.counter("num_batches_tracked")
        return (weight, { BatchNormParameters(gamma: gamma.array, beta: beta.array, mean: mean.array, variance: variance.array) })
    }

    /// What a model built only for its key list (or from a file with problems, about to be refused) holds instead.
    private static let placeholder = Conv3D(weight: Tensor(zeros: [1, 1, 1, 1]))
}
