/// An error in a weights file (backbones or heads): names the tensors at fault and the fix.
public struct WeightsError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
