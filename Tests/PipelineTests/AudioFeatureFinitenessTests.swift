import Foundation
import Models
import Pipeline
import Testing
import TestSupport

/// A non-finite audio feature (finite weights can overflow) is an error naming the backbones' weights file, whichever
/// way the spectrograms of a head batch are brought to one length — never a row handed to the head.
@Suite struct AudioFeatureFinitenessTests {
    @Test(arguments: [ProtocolRules.SpectrogramPadding.none, .leftPadToLongest])
    func overflowingAudioFeatureIsAnError(padding: ProtocolRules.SpectrogramPadding) throws {
        let dir = TestPaths.temporaryDirectory("emopipe-audio-finite")
        defer { try? FileManager.default.removeItem(at: dir) }
        try SyntheticModel.write(folder: dir.path, head: .jca)
        let model = try EmotionModel(folder: dir.path, head: .jca)
        let features = try BackboneFeatures(model: model, threads: 1)
        let bands = 64
        // A shorter spectrogram first (so `leftPadToLongest` pads it), then one whose values overflow the backbone.
        let short = Spectrogram(bands: bands, frames: 90, values: [Float](repeating: 0.1, count: bands * 90))
        let huge = Spectrogram(bands: bands, frames: 104, values: [Float](repeating: 3e38, count: bands * 104))
        let rows = (0..<2).map { _ in UnsafeMutablePointer<Float>.allocate(capacity: 512) }
        defer { rows.forEach { $0.deallocate() } }
        let error = #expect(throws: NonFiniteOutputError.self) {
            try features.audioFeatures(of: [short, huge], padding: padding, into: rows)
        }
        #expect(error?.output == "audio feature" && error?.weights == model.backbonesPath, "\(String(describing: error))")
    }
}
