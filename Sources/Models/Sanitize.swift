import Kernels

/// The ways a weights file may differ from the official state dict a model declares, and still be loaded.
/// `SanitizedWeights` applies them, in one step, before any parameter is matched (see docs/weights.md):
/// - DataParallel's `module.` prefix is removed from every name that has it (always);
/// - tensors the model never reads may be absent (`mayBeAbsentPrefixes`/`Suffixes`): TSAV's fusion layer `fc.1.*`,
///   BatchNorm's `num_batches_tracked` counters; when present they are checked like the others;
/// - a counter may be stored as shape (1) instead of PyTorch's scalar () (some exporters do);
/// - a weight stored with more input channels than the model reads (`keptInputChannels`: dimension 1 cut to its first
///   n channels): TSAV's 4-channel visual stem (RGB + a landmark mask the fusion models do not use) becomes the RGB
///   stem; a file whose stem was already cut to RGB is accepted as it is.
public struct CheckpointQuirks: Sendable {
    public var mayBeAbsentPrefixes: [String] = []
    public var mayBeAbsentSuffixes: [String] = []
    /// Official name → input channels kept (the first ones, along dimension 1).
    public var keptInputChannels: [String: Int] = [:]

    public init(mayBeAbsentPrefixes: [String] = [], mayBeAbsentSuffixes: [String] = [], keptInputChannels: [String: Int] = [:]) {
        self.mayBeAbsentPrefixes = mayBeAbsentPrefixes
        self.mayBeAbsentSuffixes = mayBeAbsentSuffixes
        self.keptInputChannels = keptInputChannels
    }

    /// Only `module.` prefixes are removed.
    public static let none = CheckpointQuirks()

    func mayBeAbsent(_ name: String) -> Bool {
        mayBeAbsentPrefixes.contains { name.hasPrefix($0) } || mayBeAbsentSuffixes.contains { name.hasSuffix($0) }
    }

    /// Whether a file tensor of `shape` can stand for the declared `key`.
    func accepts(_ shape: [Int], for key: StateDictKey) -> Bool {
        if shape == key.shape { return true }
        if key.dtype == "int64" && key.shape == [] && shape == [1] { return true }
        if let kept = keptInputChannels[key.name], key.shape.count >= 2, shape.count == key.shape.count {
            var cut = key.shape
            cut[1] = kept
            return shape == cut
        }
        return false
    }
}

/// A weights file seen through `CheckpointQuirks`: its entries under their official names, and each tensor as the
/// model uses it.
struct SanitizedWeights {
    let file: SafeTensorsFile
    let quirks: CheckpointQuirks
    /// File entries by official name.
    let entries: [String: SafeTensorsFile.Entry]
    /// Official names, in file order.
    let names: [String]
    /// Names that collide once `module.` is removed.
    let problems: [String]

    init(_ file: SafeTensorsFile, quirks: CheckpointQuirks) {
        self.file = file
        self.quirks = quirks
        var entries: [String: SafeTensorsFile.Entry] = [:], names: [String] = [], problems: [String] = []
        for name in file.names {
            let official = name.hasPrefix("module.") ? String(name.dropFirst("module.".count)) : name
            guard entries[official] == nil else {
                problems.append("two tensors are named \(official) once 'module.' is removed")
                continue
            }
            entries[official] = file.entries[name]!
            names.append(official)
        }
        self.entries = entries
        self.names = names
        self.problems = problems
    }

    /// The tensor called `name` (official name) as float32, cut to the kept input channels when the quirks say so.
    func tensor(_ name: String) throws -> Tensor {
        guard let entry = entries[name] else { throw SafeTensorsError("\(file.path): no tensor named \(name)") }
        let t = try file.tensor(entry.name)
        guard let kept = quirks.keptInputChannels[name], t.rank >= 2, t.shape[1] > kept else { return t }
        let outer = t.shape[0], channels = t.shape[1], inner = t.shape.dropFirst(2).reduce(1, *)
        var shape = t.shape
        shape[1] = kept
        let cut = Tensor(zeros: shape)
        for o in 0..<outer {
            (cut.pointer + o * kept * inner).update(from: t.pointer + o * channels * inner, count: kept * inner)
        }
        return cut
    }
}
