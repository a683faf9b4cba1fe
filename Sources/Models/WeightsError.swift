/// An error in a weights file (backbones or heads), or in what a model was given: one line naming the file, what is
/// wrong (every tensor at fault) and what to do.
public struct WeightsError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }

    /// `FILE: problem (fix)`.
    public init(file: String, problem: String, fix: String) {
        description = "\(file): \(problem) (\(fix))"
    }
}
