import Kernels

/// Where a model's parameters come from while it is built.
///
/// A model's initializer asks this store for every parameter by name and shape, in the order of the official
/// module tree. The same initializer therefore serves two purposes:
/// - `reading(file)`: take the tensors from a safetensors file; every missing, mis-shaped, non-float or
///   unexpected tensor is recorded, and `finish()` throws one error naming all of them.
/// - `shapesOnly()`: hand out empty placeholders and only record the names and shapes; this is how the
///   expected key list of a head is generated from its structure.
///
/// Rule for layers: initializers only store the tensors they are given (no arithmetic on them), so that
/// placeholders are safe and a model built for its key list costs nothing.
public final class ParameterStore {
    private let file: SafeTensorsFile?
    public private(set) var declared: [StateDictKey] = []
    private var seen: Set<String> = []
    private var problems: [String] = []
    private static let placeholder = Tensor(zeros: [0])

    private init(file: SafeTensorsFile?) { self.file = file }

    public static func reading(_ file: SafeTensorsFile) -> ParameterStore { ParameterStore(file: file) }
    public static func shapesOnly() -> ParameterStore { ParameterStore(file: nil) }

    public var root: ParameterScope { ParameterScope(store: self, prefix: "", used: true) }

    /// The tensor called `name`, which must have `shape`. A placeholder when it is absent or wrong (recorded).
    func tensor(_ name: String, _ shape: [Int], used: Bool) -> Tensor {
        declared.append(StateDictKey(name, shape))
        if !seen.insert(name).inserted { problems.append("\(name) is declared twice (a bug in emopipe)") }
        guard let file else { return Self.placeholder }
        guard let entry = file.entries[name] else {
            problems.append("missing tensor \(name) \(Tensor.shapeString(shape))")
            return Self.placeholder
        }
        guard entry.shape == shape else {
            problems.append("tensor \(name) has shape \(Tensor.shapeString(entry.shape)), expected \(Tensor.shapeString(shape))")
            return Self.placeholder
        }
        guard [.f32, .f16, .bf16, .f64].contains(entry.dtype) else {
            problems.append("tensor \(name) is \(entry.dtype.rawValue), expected a float type (F32)")
            return Self.placeholder
        }
        guard used else { return Self.placeholder }
        do { return try file.tensor(name) } catch {
            problems.append("tensor \(name): \(error)")
            return Self.placeholder
        }
    }

    /// Throws when anything was missing, mis-shaped or when the file holds tensors nobody asked for.
    public func finish() throws {
        var all = problems
        if let file {
            let unexpected = file.names.filter { !seen.contains($0) }
            all += unexpected.map { "unexpected tensor \($0) \(Tensor.shapeString(file.entries[$0]!.shape))" }
        }
        guard !all.isEmpty else { return }
        let shown = all.prefix(12).joined(separator: "; ")
        let more = all.count > 12 ? " (and \(all.count - 12) more)" : ""
        var hint = ""
        if let file, file.names.contains(where: { $0.hasPrefix("module.") }) {
            hint = ". Its names carry DataParallel's 'module.' prefix: convert the checkpoint with `emopipe convert`"
        }
        throw WeightsError("\(file?.path ?? "weights"): \(all.count) problem(s): \(shown)\(more)\(hint)")
    }
}

/// A view of a `ParameterStore` under a name prefix (`audio_extract.`, `coattn.dcn_layers.0.` …).
public struct ParameterScope {
    let store: ParameterStore
    let prefix: String
    /// False for modules that exist in the state dict but are never run (JMT's `final_encoder`):
    /// their tensors are checked for presence and shape but not read.
    let used: Bool

    public func callAsFunction(_ name: String, _ shape: [Int]) -> Tensor {
        store.tensor(prefix + name, shape, used: used)
    }

    public func scope(_ name: String) -> ParameterScope {
        ParameterScope(store: store, prefix: prefix + name + ".", used: used)
    }

    /// The same prefix, for a module whose tensors are checked but never loaded.
    public var unused: ParameterScope { ParameterScope(store: store, prefix: prefix, used: false) }
}
