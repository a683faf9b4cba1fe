import Face
import Foundation

/// The face front end's models (`Face.FaceModels`: MTCNN's three networks), loaded once per process and shared by
/// every input: each input gets its own tracker (per-input state) over these immutable models.
extension FaceModels {
    /// Loads the MTCNN weights that `make` converted (`FaceModelPaths.directory`; `$EMOPIPE_FACE_MODELS` overrides).
    public static func load() throws -> FaceModels {
        do {
            return try FaceModels()
        } catch let e as FaceModelError {
            throw PipelineError(e.file, e.problem, remedy: e.remedy)
        }
    }

    /// A tracker for one input.
    public func tracker(_ config: FaceTrackerConfig = FaceTrackerConfig()) -> FaceTracker {
        FaceTracker(models: self, config: config)
    }
}
