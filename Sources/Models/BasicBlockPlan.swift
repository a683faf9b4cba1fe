/// One residual basic block of an 18-layer ResNet-style network: input channels, output channels, stride.
struct BasicBlockPlan {
    let inPlanes: Int, planes: Int, stride: Int
    /// A block that changes the width or the resolution adds a projected (downsampled) shortcut.
    var needsDownsample: Bool { stride != 1 || inPlanes != planes }
}

/// The four stages of two basic blocks each that ResNet-18 and R(2+1)D-18 share: the stem gives 64 channels; the first
/// block of every stage after the first has stride 2 (and a downsample), the second block keeps the width.
func basicBlockPlan(widths: [Int]) -> [[BasicBlockPlan]] {
    var inPlanes = 64
    return widths.enumerated().map { (i, planes) in
        let s = i == 0 ? 1 : 2
        defer { inPlanes = planes }
        return [BasicBlockPlan(inPlanes: inPlanes, planes: planes, stride: s), BasicBlockPlan(inPlanes: planes, planes: planes, stride: 1)]
    }
}
