/// 2-D convolutions are 3-D convolutions with a one-frame kernel over activations with T = 1.
extension Conv3D {
    /// A 2-D convolution from a PyTorch (C_out, C_in, kH, kW) weight.
    public static func conv2D(weight: Tensor, bias: Tensor? = nil, batchNorm: BatchNormParameters? = nil,
                              stride: Int = 1, padding: Int = 0) -> Conv3D {
        precondition(weight.rank == 4, "a 2-D convolution weight is (C_out, C_in, kH, kW), got \(weight.shape)")
        return Conv3D(weight: weight, bias: bias, batchNorm: batchNorm, stride: (1, stride, stride), padding: (0, padding, padding))
    }
}
