import Foundation
import Kernels
import Media
import Testing
import TestSupport

/// The whole per-frame clean protocol (`--protocol clean`, the contract's reading) against an independent PyTorch reproduction (tools/protocol_reference.py, whose output
/// is Fixtures/protocol/reference.csv): the same deterministic crops and audio, the CA head, synthetic weights.
@Suite(.serialized) struct ProtocolReferenceTests {
    static let frames = 100

    /// Writes the script's input: crops 00001.png… (every 13th frame missing) and audio.wav (float32 mono 44.1 kHz).
    func makeInput(in dir: URL) throws -> (folder: String, audio: String) {
        let folder = dir.appendingPathComponent("crops")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for f in 1...Self.frames where f % 13 != 0 {
            let u = SyntheticWeights.uniform("protocol:crop:\(f)", count: 112 * 112 * 3)
            let px = u.map { UInt8((Double($0) + 1) * 128) }
            try writePNG(RGBImage(width: 112, height: 112, pixels: px), to: folder.appendingPathComponent(String(format: "%05d.png", f)).path)
        }
        let samples = SyntheticWeights.uniform("protocol:audio", count: 154_350).map { $0 * Float(0.3) }
        var wav = Data()
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { wav.append(contentsOf: $0) } }
        func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { wav.append(contentsOf: $0) } }
        wav.append(contentsOf: Array("RIFF".utf8)); u32(UInt32(36 + samples.count * 4)); wav.append(contentsOf: Array("WAVE".utf8))
        wav.append(contentsOf: Array("fmt ".utf8)); u32(16); u16(3); u16(1); u32(44100); u32(44100 * 4); u16(4); u16(32)
        wav.append(contentsOf: Array("data".utf8)); u32(UInt32(samples.count * 4))
        for s in samples { u32(s.bitPattern) }
        let audio = dir.appendingPathComponent("audio.wav").path
        try wav.write(to: URL(fileURLWithPath: audio))
        return (folder.path, audio)
    }

    @Test(.timeLimit(.minutes(10))) func pipelineMatchesThePyTorchProtocolReference() throws {
        let refText = try String(contentsOf: TestPaths.fixtures.appendingPathComponent("protocol/reference.csv"), encoding: .utf8)
        let reference = refText.split(separator: "\n").dropFirst().map { $0.split(separator: ",").map { Double($0)! } }
        try #require(reference.count == Self.frames)
        let dir = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = try makeInput(in: dir)
        let model = try SyntheticModels.shared.folder(head: "ca")
        let bin = TestPaths.emopipeBinary.path
        let raw = try runCommand(bin, [input.folder, "--audio", input.audio, "--fps", "30", "--protocol", "clean", "--model", model, "--raw", "-q"], timeout: 600)
        #expect(raw.status == 0, "\(raw.stderr)")
        let rawRows = try parseCSV(raw.stdoutText)
        try #require(rawRows.count == Self.frames)
        for (r, ref) in zip(rawRows, reference) {
            #expect(r.face == (r.frame % 13 == 0 ? 0 : 1))
            // Clipped per-clip outputs (the script's are unclipped; synthetic outputs stay well inside [-1, 1]).
            #expect(abs(r.valence - ref[1]) <= 1e-4 && abs(r.arousal - ref[2]) <= 1e-4, "frame \(r.frame): \(r) vs \(ref)")
        }
        // Smoothing on top of the same outputs.
        let smooth = try runCommand(bin, [input.folder, "--audio", input.audio, "--protocol", "clean", "--model", model, "-q"], timeout: 600)
        let rows = try parseCSV(smooth.stdoutText)
        for (r, ref) in zip(rows, reference) {
            #expect(abs(r.valence - ref[3]) <= 1e-4 && abs(r.arousal - ref[4]) <= 1e-4, "frame \(r.frame): \(r) vs \(ref)")
        }
    }
}
