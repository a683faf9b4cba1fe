import Kernels

/// Where a model's parameters come from while it is built.
///
/// A model's initializer asks this store for every parameter by its official state-dict name and shape, in the order
/// of the official module tree: each key is spelled once, beside the property that holds it. The same initializer
/// therefore serves two purposes:
/// - `reading(file, quirks:)`: take the tensors from a safetensors file, after `SanitizedWeights` has undone the
///   checkpoint's quirks; every missing, mis-shaped, wrongly typed, non-finite or unexpected tensor is recorded, and
///   `finish()` throws one error naming all of them and the file.
/// - `shapesOnly()`: hand out empty placeholders and only record the names, shapes and dtypes; this is how the
///   expected key list of a model is generated from its structure.
///
/// Rule for layers: initializers only store the tensors they are given, and do load-time arithmetic (BatchNorm
/// folding, weight packing) only inside `ParameterScope.whenRead`, so that placeholders are safe and a model built
/// for its key list costs nothing.
public final class ParameterStore {
    private let weights: SanitizedWeights?
    public private(set) var declared: [StateDictKey] = []
    private var seen: Set<String> = []
    private var problems: [String] = []
    private static let placeholder = Tensor(zeros: [0])

    private init(weights: SanitizedWeights?) {
        self.weights = weights
        problems = weights?.problems ?? []
    }

    public static func reading(_ file: SafeTensorsFile, quirks: CheckpointQuirks = .none) -> ParameterStore {
        ParameterStore(weights: SanitizedWeights(file, quirks: quirks))
    }

    public static func shapesOnly() -> ParameterStore { ParameterStore(weights: nil) }

    public var root: ParameterScope { ParameterScope(store: self, prefix: "", used: true) }

    /// The file's tensor names once `module.` prefixes are removed (empty with `shapesOnly`).
    public var fileNames: [String] { weights?.names ?? [] }

    /// True while every parameter asked for so far has been read from a file: load-time arithmetic on the tensors
    /// is meaningful only then (never with `shapesOnly`, nor once a problem was found: the model is discarded).
    var intact: Bool { weights != nil && problems.isEmpty }

    /// Records `key` and returns the file's entry for it (nil when absent, or when only shapes are wanted).
    private func declare(_ key: StateDictKey, used: Bool) -> SafeTensorsFile.Entry? {
        declared.append(key)
        if !seen.insert(key.name).inserted { problems.append("\(key.name) is declared twice (a bug in emopipe)") }
        guard let weights else { return nil }
        guard let entry = weights.entries[key.name] else {
            if !weights.quirks.mayBeAbsent(key.name) {
                problems.append("missing tensor \(key.name) \(Tensor.shapeString(key.shape))")
            } else if used {
                problems.append("\(key.name) may be absent but is used (a bug in emopipe)")
            }
            return nil
        }
        guard weights.quirks.accepts(entry.shape, for: key) else {
            problems.append("tensor \(key.name) has shape \(Tensor.shapeString(entry.shape)), expected \(Tensor.shapeString(key.shape))")
            return nil
        }
        let floating: Set<SafeTensorsDType> = [.f32, .f16, .bf16, .f64]
        guard key.dtype == "int64" ? entry.dtype == .i64 : floating.contains(entry.dtype) else {
            let expected = key.dtype == "int64" ? "I64" : "a float type (F32, F16, BF16 or F64)"
            problems.append("tensor \(key.name) is \(entry.dtype.rawValue), expected \(expected)")
            return nil
        }
        return entry
    }

    /// The float tensor called `name`, which must have `shape`; as the model uses it after the quirks
    /// (`CheckpointQuirks.keptInputChannels`). A placeholder when it is absent or wrong (recorded), or when `used` is
    /// false (checked — shape, dtype, finiteness — but not kept).
    func tensor(_ name: String, _ shape: [Int], used: Bool) -> Tensor {
        guard let entry = declare(StateDictKey(name, shape), used: used), let weights else { return Self.placeholder }
        do {
            guard used else {
                if let i = try weights.file.firstNonFinite(entry.name) { problems.append(nonFinite(name, i, shape)) }
                return Self.placeholder
            }
            let t = try weights.tensor(name)
            // After widening to float32: F64 values beyond float32's range are as unusable as NaN and Inf.
            if let i = t.firstNonFinite() {
                problems.append(nonFinite(name, i, entry.shape))
                return Self.placeholder
            }
            return t
        } catch {
            problems.append("tensor \(name): \(error)")
            return Self.placeholder
        }
    }

    private func nonFinite(_ name: String, _ index: Int, _ shape: [Int]) -> String {
        "tensor \(name) holds a value that is not a finite float32 (NaN, Inf or out of range) at element \(index) of \(Tensor.shapeString(shape))"
    }

    /// An int64 counter the model never reads (BatchNorm's `num_batches_tracked`): checked for dtype and shape.
    func counter(_ name: String) {
        _ = declare(StateDictKey(name, [], dtype: "int64"), used: false)
    }

    /// Throws when anything was missing, mis-shaped, wrongly typed or not finite, or when the file holds tensors
    /// nobody asked for: one `WeightsError` naming the file, every problem (up to 12) and the fix.
    public func finish() throws {
        var all = problems
        if let weights {
            all += weights.names.filter { !seen.contains($0) }.map {
                "unexpected tensor \($0) \(Tensor.shapeString(weights.entries[$0]!.shape))"
            }
        }
        guard !all.isEmpty, let weights else { return }
        let shown = all.prefix(12).joined(separator: "; ")
        let more = all.count > 12 ? " (and \(all.count - 12) more)" : ""
        throw WeightsError(file: weights.file.path, problem: "\(all.count) problem(s): \(shown)\(more)",
                           fix: "convert the published checkpoint with `emopipe convert`, see docs/weights.md")
    }
}

/// A view of a `ParameterStore` under a name prefix (`audio_extract.`, `video_model.r2plus1d.layer1.0.` …).
public struct ParameterScope {
    let store: ParameterStore
    let prefix: String
    /// False for modules that exist in the state dict but are never run (JMT's `final_encoder`, TSAV's `fc`):
    /// their tensors are checked (presence, shape, dtype, finiteness) but not kept.
    let used: Bool

    public func callAsFunction(_ name: String, _ shape: [Int]) -> Tensor {
        store.tensor(prefix + name, shape, used: used)
    }

    /// An int64 counter under this prefix that no computation reads (`num_batches_tracked`).
    public func counter(_ name: String) {
        store.counter(prefix + name)
    }

    public func scope(_ name: String) -> ParameterScope {
        ParameterScope(store: store, prefix: prefix + name + ".", used: used)
    }

    /// The same prefix, for a module whose tensors are checked but never loaded.
    public var unused: ParameterScope { ParameterScope(store: store, prefix: prefix, used: false) }

    /// `make()` when every tensor asked for so far was read from a file, else `placeholder`: the place for load-time
    /// arithmetic on the tensors (folding, packing), which placeholders would not survive and key lists do not need.
    public func whenRead<T>(_ make: () -> T, otherwise placeholder: @autoclosure () -> T) -> T {
        used && store.intact ? make() : placeholder()
    }
}
