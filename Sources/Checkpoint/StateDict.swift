import Foundation

/// The named tensors of a checkpoint, in state-dict order, with the way they were found.
///
/// Rules (the published checkpoints differ in how they wrap their weights):
/// - The top object must be a dict. While it holds a dict under `state_dict` (TSAV) or `net` (JCA/DCA),
///   that dict is taken instead; other entries beside it (epochs, accuracies, optimizer state) are ignored.
///   A dict without either key is the state dict itself (JMT's bare state dicts).
/// - Inside the state dict, a value that is a dict is flattened: `{"a": {"b": t}}` gives `a.b`.
///   Values that are neither tensors nor dicts are skipped and listed in `skipped`.
/// - A leading `module.` (left by `nn.DataParallel`) is removed from every name that has it.
/// - Names are otherwise kept exactly (the official names).
public struct StateDict {
    public struct Tensor: Sendable, Equatable {
        public let name: String
        public let dtype: StorageDType
        public let shape: [Int]
        public let bytes: [UInt8]
    }

    public var tensors: [Tensor]
    /// The keys followed to reach the state dict, e.g. ["state_dict"]; empty for a bare state dict.
    public var wrapperPath: [String]
    /// How many names lost a `module.` prefix.
    public var strippedModulePrefixes: Int
    /// Entries that are neither tensors nor dicts (name: kind), the first 100.
    public var skipped: [String]
    /// How many entries were skipped in all.
    public var skippedCount: Int

    public var names: [String] { tensors.map(\.name) }

    public static let wrapperKeys = ["state_dict", "net"]
    static let maxDepth = 32
    static let maxNodes = 1_000_000

    public init(tensors: [Tensor], wrapperPath: [String] = [], strippedModulePrefixes: Int = 0, skipped: [String] = [], skippedCount: Int = 0) {
        self.tensors = tensors
        self.skippedCount = max(skippedCount, skipped.count)
        self.wrapperPath = wrapperPath
        self.strippedModulePrefixes = strippedModulePrefixes
        self.skipped = skipped
    }

    public init(_ checkpoint: TorchCheckpoint) throws {
        let path = checkpoint.path
        guard case .dict(var dict) = checkpoint.root else {
            throw CheckpointError("\(path): the checkpoint holds a \(checkpoint.root.kindName), not a dict of tensors (a state dict)")
        }
        var wrapperPath: [String] = []
        unwrap: while wrapperPath.count < 4 {
            for key in Self.wrapperKeys {
                if case .dict(let inner)? = dict[key] {
                    wrapperPath.append(key)
                    dict = inner
                    continue unwrap
                }
            }
            break
        }

        var tensors: [Tensor] = []
        var skipped: [String] = []
        var skippedCount = 0
        var nodes = 0
        var seen = Set<String>()
        var stripped = 0
        func walk(_ d: PickleDict, prefix: String, depth: Int) throws {
            guard depth <= Self.maxDepth else { throw CheckpointError("\(path): the state dict nests deeper than \(Self.maxDepth) levels") }
            for (k, v) in zip(d.keys, d.values) {
                nodes += 1
                guard nodes <= Self.maxNodes else { throw CheckpointError("\(path): the state dict has more than \(Self.maxNodes) entries") }
                let key: String
                switch k {
                case .string(let s): key = s
                case .int(let i): key = String(i)
                default:
                    skippedCount += 1
                    if skipped.count < 100 { skipped.append("\(prefix)<\(k.kindName) key>: \(v.kindName)") }
                    continue
                }
                let name = prefix + key
                switch v {
                case .tensor(let t):
                    var official = name
                    if official.hasPrefix("module.") { official.removeFirst("module.".count); stripped += 1 }
                    guard seen.insert(official).inserted else {
                        throw CheckpointError("\(path): two tensors are named \(official) (after removing `module.` prefixes)")
                    }
                    let m = try checkpoint.materialize(t, name: name)
                    tensors.append(Tensor(name: official, dtype: m.dtype, shape: m.shape, bytes: m.bytes))
                case .dict(let inner):
                    try walk(inner, prefix: name + ".", depth: depth + 1)
                default:
                    skippedCount += 1
                    if skipped.count < 100 { skipped.append("\(name): \(v.kindName)") }
                }
            }
        }
        try walk(dict, prefix: "", depth: 0)
        guard !tensors.isEmpty else {
            let top: [String]
            if case .dict(let r) = checkpoint.root { top = r.keys.prefix(8).map { if case .string(let s) = $0 { s } else { "<\($0.kindName)>" } } } else { top = [] }
            throw CheckpointError("\(path): no tensors found; not a state dict (top-level keys: \(top.isEmpty ? "none" : top.joined(separator: ", ")))")
        }
        self.init(tensors: tensors, wrapperPath: wrapperPath, strippedModulePrefixes: stripped, skipped: skipped, skippedCount: skippedCount)
    }
}
