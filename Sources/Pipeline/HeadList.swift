import Foundation
import Kernels
import Models

/// `--head`: one fusion head, or several run on one pass of the backbones — comma-separated names, compositions
/// included (`jca,dca,jmt`, `ca+iaca,tca+dca`).
public struct HeadList: Sendable, Equatable, CustomStringConvertible {
    public let specs: [HeadSpec]

    public init(_ specs: [HeadSpec]) {
        precondition(!specs.isEmpty, "at least one head")
        self.specs = specs
    }

    /// Parses `a,b,…`; nil when a name is not a head or one is given twice.
    public init?(argument: String) {
        let names = argument.split(separator: ",", omittingEmptySubsequences: false)
        var specs: [HeadSpec] = []
        for n in names {
            guard let spec = HeadSpec(name: String(n)), !specs.contains(spec) else { return nil }
            specs.append(spec)
        }
        guard !specs.isEmpty else { return nil }
        self.specs = specs
    }

    public var description: String { specs.map(\.name).joined(separator: ",") }
}

/// The files of a model with one or several heads.
public struct FoundModel: Sendable {
    public let backbones: String
    public let heads: [(spec: HeadSpec, weights: String)]
}

extension ModelLocator {
    /// Resolves the backbones and every head asked for (`resolve` for each): explicit files — `headWeights` one
    /// file per head, in the order of `heads` (the heads may be left out: each file's metadata names its head) —
    /// or a model folder (or $EMOPIPE_MODEL) holding `head_<name>.safetensors` for each.
    public static func resolve(backbones: String?, heads: HeadList?, headWeights: [String]?, folder: String?,
                               environment: [String: String] = ProcessInfo.processInfo.environment) throws -> FoundModel {
        let specs: [HeadSpec?] = heads?.specs ?? Array(repeating: nil, count: max(1, headWeights?.count ?? 1))
        if let headWeights, headWeights.count != specs.count {
            throw PipelineError(nil, "\(specs.count) head(s) and \(headWeights.count) --head-weights file(s)",
                                remedy: "give one weights file per head, in the same order (comma-separated)")
        }
        var found: [(HeadSpec, String)] = []
        var tsav = ""
        for (i, spec) in specs.enumerated() {
            let one = try resolve(backbones: backbones, head: spec, headWeights: headWeights?[i], folder: folder, environment: environment)
            tsav = one.backbones
            if found.contains(where: { $0.0 == one.head }) {
                throw PipelineError(one.headWeights, "head \(one.head.name) is given twice", remedy: "give each head once")
            }
            found.append((one.head, one.headWeights))
        }
        return FoundModel(backbones: tsav, heads: found)
    }
}

extension ModelLocator {
    /// The backbones file alone (`emopipe features`): `file`, or a model folder's (or $EMOPIPE_MODEL's)
    /// tsav.safetensors.
    public static func backbones(file: String?, folder: String?,
                                 environment: [String: String] = ProcessInfo.processInfo.environment) throws -> String {
        if let file {
            guard FileManager.default.fileExists(atPath: file) else {
                throw PipelineError(file, "no such file", remedy: "check the path; `emopipe convert` makes weights files")
            }
            return file
        }
        guard let dir = folder ?? environment[environmentVariable].flatMap({ $0.isEmpty ? nil : $0 }) else {
            throw PipelineError(nil, "no backbones given", remedy: "give --backbones TSAV.safetensors or --model DIR (see docs/weights.md)")
        }
        let tsav = (dir as NSString).appendingPathComponent(backbonesFile)
        guard FileManager.default.fileExists(atPath: tsav) else {
            throw PipelineError(dir, FileManager.default.fileExists(atPath: dir) ? "no \(backbonesFile) in this model folder" : "no such model folder",
                                remedy: "give a folder holding \(backbonesFile), or --backbones FILE; see docs/weights.md")
        }
        return tsav
    }

    /// The heads alone (`emopipe run --features`: no backbones needed): `headWeights`, one per head (the heads
    /// from `heads` or from each file's metadata), or a model folder's (or $EMOPIPE_MODEL's) `head_<name>` files.
    public static func heads(_ heads: HeadList?, headWeights: [String]?, folder: String?,
                             environment: [String: String] = ProcessInfo.processInfo.environment) throws -> [(spec: HeadSpec, weights: String)] {
        if let headWeights {
            if let heads, heads.specs.count != headWeights.count {
                throw PipelineError(nil, "\(heads.specs.count) head(s) and \(headWeights.count) --head-weights file(s)",
                                    remedy: "give one weights file per head, in the same order (comma-separated)")
            }
            return try headWeights.enumerated().map { i, path in
                guard FileManager.default.fileExists(atPath: path) else {
                    throw PipelineError(path, "no such file", remedy: "check the path; `emopipe convert` makes weights files")
                }
                guard let spec = heads?.specs[i] ?? (try? SafeTensorsFile(path: path).metadata["head"]).flatMap({ HeadSpec(name: $0) }) else {
                    throw PipelineError(path, "the file does not say which head it is", remedy: "pass --head NAME")
                }
                return (spec, path)
            }
        }
        guard let dir = folder ?? environment[environmentVariable].flatMap({ $0.isEmpty ? nil : $0 }) else {
            throw PipelineError(nil, "no head weights given", remedy: "give --head NAME --head-weights FILE, or --model DIR")
        }
        let available = Self.heads(in: dir)
        guard let heads else {
            guard available.count == 1 else {
                throw PipelineError(dir, available.isEmpty ? "no head_<name>.safetensors in this model folder"
                                         : "holds several heads (\(available.map(\.0.name).joined(separator: ", ")))",
                                    remedy: available.isEmpty ? "convert a head's checkpoint into it; see docs/weights.md" : "choose with --head")
            }
            return [(available[0].0, available[0].1)]
        }
        return try heads.specs.map { spec in
            guard let match = available.first(where: { $0.0 == spec }) else {
                throw PipelineError(dir, "no weights for head '\(spec.name)' in this model folder",
                                    remedy: available.isEmpty ? "convert the head's checkpoint into it; see docs/weights.md"
                                                              : "it holds \(available.map(\.0.name).joined(separator: ", "))")
            }
            return (spec, match.1)
        }
    }
}

extension EmotionModel {
    /// Loads a model `ModelLocator` found, with all its heads.
    public convenience init(_ found: FoundModel) throws {
        try self.init(backbones: found.backbones, heads: found.heads.map { ($0.spec, $0.weights) })
    }
}
