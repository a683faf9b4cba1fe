import Face
import Foundation

/// The face front end's model files, loaded once per process and shared by every input: each input gets its own
/// tracker (per-input state) over these immutable models.
public struct FaceModels: Sendable {
    public let frontal: CascadeClassifier
    public let profile: CascadeClassifier
    public let landmarks: ShapePredictor

    /// Loads the cascades (Debian's opencv-data) and the 68-point landmark model (Debian's libdlib-data).
    public static func load() throws -> FaceModels {
        func load<T>(_ path: String, _ body: (String) throws -> T) throws -> T {
            guard FileManager.default.fileExists(atPath: path) else {
                throw PipelineError(path, "the face model file is missing", remedy: "run `make` to install opencv-data and libdlib-data")
            }
            do { return try body(path) } catch {
                throw PipelineError(path, "the face model cannot be read: \(OneLine.message(for: error))",
                                    remedy: "reinstall it: apt-get install --reinstall opencv-data libdlib-data")
            }
        }
        let frontal = try load(FaceModelPaths.frontal) { try CascadeClassifier(contentsOfFile: $0) }
        let profile = try load(FaceModelPaths.profile) { try CascadeClassifier(contentsOfFile: $0) }
        let landmarks = try load(FaceModelPaths.landmarks) { try ShapePredictor(contentsOfFile: $0) }
        guard landmarks.landmarkCount == 68 else {
            throw PipelineError(FaceModelPaths.landmarks, "\(landmarks.landmarkCount) landmarks; the aligner needs the 68-point iBUG model",
                                remedy: "point EMOPIPE_LANDMARKS at shape_predictor_68_face_landmarks.dat")
        }
        return FaceModels(frontal: frontal, profile: profile, landmarks: landmarks)
    }

    /// A tracker for one input.
    public func tracker(_ config: FaceTrackerConfig = FaceTrackerConfig()) -> FaceTracker {
        let detector = FaceDetector(frontal: frontal, profile: config.detector.useProfile ? profile : nil, config: config.detector)
        return FaceTracker(config: config, detector: detector, predictor: landmarks)
    }
}
