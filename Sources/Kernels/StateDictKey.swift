/// One entry of a PyTorch state_dict: its official name, shape and element type — a line of `*.keys.txt`
/// (`name 64x1x7x7 float32`, `scalar` for rank 0). Models declare their expected keys with it, the loaders and the
/// converter check files against it, and the synthetic weight rule fills it.
public struct StateDictKey: Sendable, Hashable, CustomStringConvertible {
    public let name: String
    public let shape: [Int]
    /// "float32" or "int64".
    public let dtype: String

    public init(_ name: String, _ shape: [Int], dtype: String = "float32") {
        self.name = name; self.shape = shape; self.dtype = dtype
    }

    /// The `*.keys.txt` line.
    public var line: String { "\(name) \(shape.isEmpty ? "scalar" : shape.map(String.init).joined(separator: "x")) \(dtype)" }
    public var description: String { line }
}
