import Foundation
import TestSupport

enum FaceEvalData {
    static var directory: String? {
        let dir = ProcessInfo.processInfo.environment["EMOPIPE_FACE_EVAL"]
            ?? TestPaths.packageRoot.appendingPathComponent(".build/face-eval").path
        return FileManager.default.fileExists(atPath: dir + "/astronaut__orig.ppm") ? dir : nil
    }
    static var available: Bool { directory != nil }
}
