import Foundation
import Kernels
import Models

/// Finds model files: explicit paths, a model folder, or the folder named by EMOPIPE_MODEL.
///
/// A model folder holds the backbones file `tsav.safetensors` and one head file `head_<name>.safetensors`
/// (the name is also in the file's `__metadata__` as `head`). `emopipe convert` writes such files;
/// `emopipe models synth` writes a synthetic one for tests and demos.
public enum ModelLocator {
    public static let environmentVariable = "EMOPIPE_MODEL"
    public static let backbonesFile = "tsav.safetensors"

    public struct Found: Sendable {
        public let folder: String?
        public let backbones: String
        public let head: HeadSpec
        public let headWeights: String
    }

    /// Folders searched for models, in order, with why each is searched.
    public static func searchPath(environment: [String: String] = ProcessInfo.processInfo.environment) -> [(String, String)] {
        var out: [(String, String)] = []
        if let e = environment[environmentVariable], !e.isEmpty { out.append((e, "$\(environmentVariable)")) }
        let home = environment["HOME"] ?? NSHomeDirectory()
        out.append(((home as NSString).appendingPathComponent(".local/share/emopipe/models"), "user models (each subfolder one model)"))
        return out
    }

    /// The head files in a folder: (spec, path).
    public static func heads(in folder: String) -> [(HeadSpec, String)] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        return names.sorted().compactMap { name -> (HeadSpec, String)? in
            guard name.hasPrefix("head"), name.hasSuffix(".safetensors") else { return nil }
            let path = (folder as NSString).appendingPathComponent(name)
            if let declared = try? SafeTensorsFile(path: path).metadata["head"], let spec = HeadSpec(name: declared) {
                return (spec, path)
            }
            let stem = String(name.dropFirst("head_".count).dropLast(".safetensors".count))
            return HeadSpec(name: stem).map { ($0, path) }
        }
    }

    /// Whether `folder` is a model folder.
    public static func isModelFolder(_ folder: String) -> Bool {
        FileManager.default.fileExists(atPath: (folder as NSString).appendingPathComponent(backbonesFile)) && !heads(in: folder).isEmpty
    }

    /// Model folders found along the search path (a folder itself, or its immediate subfolders).
    public static func discover(environment: [String: String] = ProcessInfo.processInfo.environment) -> [String] {
        var out: [String] = []
        for (dir, _) in searchPath(environment: environment) {
            if isModelFolder(dir) { out.append(dir); continue }
            let subs = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted()
            out += subs.map { (dir as NSString).appendingPathComponent($0) }.filter(isModelFolder)
        }
        return out
    }

    /// Resolves the model to run.
    /// - explicit `backbones` + `headWeights` (+ `head`, else the head file's metadata);
    /// - else `folder` (or $EMOPIPE_MODEL), choosing the head by `head` when the folder holds several.
    public static func resolve(backbones: String?, head: HeadSpec?, headWeights: String?, folder: String?,
                               environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Found {
        if backbones != nil || headWeights != nil {
            guard let backbones, let headWeights else {
                throw PipelineError(nil, "--backbones and --head-weights go together", remedy: "give both, or --model DIR")
            }
            for p in [backbones, headWeights] where !FileManager.default.fileExists(atPath: p) {
                throw PipelineError(p, "no such file", remedy: "check the path; `emopipe convert` makes weights files")
            }
            guard let spec = head ?? (try? SafeTensorsFile(path: headWeights).metadata["head"]).flatMap({ HeadSpec(name: $0) }) else {
                throw PipelineError(headWeights, "the file does not say which head it is", remedy: "pass --head NAME")
            }
            return Found(folder: nil, backbones: backbones, head: spec, headWeights: headWeights)
        }
        let dir = folder ?? environment[environmentVariable].flatMap { $0.isEmpty ? nil : $0 }
        guard let dir else {
            throw PipelineError(nil, "no model weights given",
                                remedy: "convert the published checkpoints (emopipe convert TSAV_Sub4_544k.pth.tar MODEL/tsav.safetensors, "
                                    + "emopipe convert jointcam_model.pt MODEL/head_jca.safetensors --head jca), then give --model MODEL "
                                    + "or export \(environmentVariable)=MODEL; docs/weights.md says where to get them; "
                                    + "to try emopipe without them: emopipe models synth DEMO, then --model DEMO")
        }
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir) else {
            throw PipelineError(dir, "no such model folder", remedy: "give a folder holding \(backbonesFile) and head_<name>.safetensors; see docs/weights.md")
        }
        guard isDir.boolValue else {
            throw PipelineError(dir, "is a file, not a model folder", remedy: "give its folder, or the files with --backbones and --head-weights")
        }
        let tsav = (dir as NSString).appendingPathComponent(backbonesFile)
        guard FileManager.default.fileExists(atPath: tsav) else {
            throw PipelineError(dir, "no \(backbonesFile) in this model folder", remedy: "convert the TSAV checkpoint into it; see docs/weights.md")
        }
        let available = heads(in: dir)
        let chosen: (HeadSpec, String)
        if let head {
            guard let match = available.first(where: { $0.0 == head }) else {
                throw PipelineError(dir, "no weights for head '\(head.name)' in this model folder",
                                    remedy: available.isEmpty ? "convert the head's checkpoint into it; see docs/weights.md"
                                                              : "it holds \(available.map(\.0.name).joined(separator: ", "))")
            }
            chosen = match
        } else {
            guard available.count == 1 else {
                throw available.isEmpty
                    ? PipelineError(dir, "no head_<name>.safetensors in this model folder", remedy: "convert a head's checkpoint into it; see docs/weights.md")
                    : PipelineError(dir, "holds several heads (\(available.map(\.0.name).joined(separator: ", ")))", remedy: "choose one with --head")
            }
            chosen = available[0]
        }
        return Found(folder: dir, backbones: tsav, head: chosen.0, headWeights: chosen.1)
    }
}
