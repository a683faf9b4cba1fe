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

    public struct LocateError: Error, CustomStringConvertible {
        public let description: String
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
    /// - explicit `backbones` + `headWeights` (+ `head` name, else the head file's metadata);
    /// - else `folder` (or $EMOPIPE_MODEL), choosing the head by `head` when the folder holds several.
    public static func resolve(backbones: String?, head: String?, headWeights: String?, folder: String?,
                               environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Found {
        var spec: HeadSpec?
        if let head {
            guard let s = HeadSpec(name: head) else {
                throw LocateError(description: "unknown head '\(head)': use one of \(HeadKind.allCases.map(\.rawValue).joined(separator: ", ")) or a composition such as ca+iaca")
            }
            spec = s
        }
        if backbones != nil || headWeights != nil {
            guard let backbones, let headWeights else {
                throw LocateError(description: "--backbones and --head-weights go together (or give --model DIR)")
            }
            for p in [backbones, headWeights] where !FileManager.default.fileExists(atPath: p) {
                throw LocateError(description: "\(p): no such file")
            }
            if spec == nil, let declared = try? SafeTensorsFile(path: headWeights).metadata["head"] { spec = HeadSpec(name: declared) }
            guard let spec else {
                throw LocateError(description: "\(headWeights): the file does not say which head it is; pass --head NAME")
            }
            return Found(folder: nil, backbones: backbones, head: spec, headWeights: headWeights)
        }
        let dir = folder ?? environment[environmentVariable].flatMap { $0.isEmpty ? nil : $0 }
        guard let dir else { throw LocateError(description: noModelMessage(environment: environment)) }
        let tsav = (dir as NSString).appendingPathComponent(backbonesFile)
        guard FileManager.default.fileExists(atPath: tsav) else {
            throw LocateError(description: "\(dir): no \(backbonesFile) in this model folder. Convert the TSAV checkpoint into it: see docs/weights.md")
        }
        let available = heads(in: dir)
        let chosen: (HeadSpec, String)
        if let spec {
            guard let match = available.first(where: { $0.0 == spec }) else {
                throw LocateError(description: "\(dir): no weights for head '\(spec.name)' (found: \(available.map(\.0.name).joined(separator: ", ")))")
            }
            chosen = match
        } else {
            guard available.count == 1 else {
                throw LocateError(description: available.isEmpty
                                  ? "\(dir): no head_<name>.safetensors in this model folder; see docs/weights.md"
                                  : "\(dir) holds several heads (\(available.map(\.0.name).joined(separator: ", "))): choose one with --head")
            }
            chosen = available[0]
        }
        return Found(folder: dir, backbones: tsav, head: chosen.0, headWeights: chosen.1)
    }

    static func noModelMessage(environment: [String: String]) -> String {
        """
        no model weights given. emopipe needs the TSAV backbones and a fusion head, converted to safetensors:
          1. download the published checkpoints (TSAV_Sub4_544k.pth.tar from the TSAV authors; a fusion head such as JCA's jointcam_model.pt) — docs/weights.md says where;
          2. emopipe convert TSAV_Sub4_544k.pth.tar MODEL/tsav.safetensors && emopipe convert jointcam_model.pt MODEL/head_jca.safetensors --head jca;
          3. emopipe VIDEO --model MODEL   (or export \(environmentVariable)=MODEL).
        To try the pipeline without real weights: emopipe models synth DEMO --head rjca, then emopipe VIDEO --model DEMO (numbers meaningless).
        """
    }
}
