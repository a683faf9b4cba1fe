// Where the face detector's weights live, and loading them once per process.
import Foundation

/// The MTCNN weight files: `pnet.safetensors`, `rnet.safetensors`, `onet.safetensors`, converted by `make` from the
/// facenet-pytorch 2.6.0 wheel on PyPI (`facenet_pytorch/data/{pnet,rnet,onet}.pt`, sha256-checked).
public enum FaceModelPaths {
    /// Overrides the folder.
    public static let environmentVariable = "EMOPIPE_FACE_MODELS"
    public static let fileNames = (pnet: "pnet.safetensors", rnet: "rnet.safetensors", onet: "onet.safetensors")

    /// `$EMOPIPE_FACE_MODELS`, else `~/.local/share/emopipe/face` (where `make` puts them).
    public static func directory(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let e = environment[environmentVariable], !e.isEmpty { return e }
        let home = environment["HOME"] ?? NSHomeDirectory()
        return (home as NSString).appendingPathComponent(".local/share/emopipe/face")
    }

    public static var directory: String { directory() }

    /// Why the folder is searched (for `emopipe models`).
    public static func origin(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let e = environment[environmentVariable], !e.isEmpty { return "$\(environmentVariable)" }
        return "where `make` writes them"
    }

    /// The three paths in `directory`; throws a one-line error naming the first missing file and `make` as the fix.
    public static func files(in directory: String) throws -> (pnet: String, rnet: String, onet: String) {
        let p = (directory as NSString).appendingPathComponent(fileNames.pnet)
        let r = (directory as NSString).appendingPathComponent(fileNames.rnet)
        let o = (directory as NSString).appendingPathComponent(fileNames.onet)
        for path in [p, r, o] where !FileManager.default.fileExists(atPath: path) {
            let hint = ProcessInfo.processInfo.environment[environmentVariable].map { _ in ", or unset \(environmentVariable)" } ?? ""
            throw FaceModelError(path, "no such file (the face detector's weights)",
                                 remedy: "run `make` in the emopipe checkout to fetch and convert them\(hint)")
        }
        return (p, r, o)
    }
}

/// Every model the face front end needs, loaded once per process and shared (read-only) by every input and tracker.
public struct FaceModels: Sendable {
    public let detector: MTCNN

    public init(detector: MTCNN) { self.detector = detector }

    /// Loads the MTCNN weights from `directory` (default: `FaceModelPaths.directory`).
    public init(directory: String = FaceModelPaths.directory) throws {
        detector = try MTCNN(directory: directory)
    }
}
