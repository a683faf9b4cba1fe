import Audio
import Foundation
import Kernels
import Testing
import TestSupport

/// The log-mel front end against torchaudio (shared/parity) and against the numpy values in Fixtures/audio.
@Suite struct SpectrogramTests {
    static let goldenCases = ["noise", "short", "long", "silence", "tone"]

    @Test(.enabled(if: TestPaths.parityAvailable), arguments: goldenCases)
    func matchesTorchaudio(_ name: String) throws {
        let golden = try TestPaths.parityFile("spectrogram.golden.safetensors")
        let wave = try golden.tensor("wave_\(name)")
        let reference = try golden.tensor("spec_\(name)")
        let samples = MelSpectrogram.leftPadded(wave.array)
        let ours = try MelSpectrogram()(samples)
        #expect(ours.shape == reference.shape, "\(name): shape \(ours.shape) vs \(reference.shape)")
        let r = parity(ours, reference)
        #expect(r.passed, "\(name): \(r)")
    }

    @Test func filterbankMatchesFormulaReference() throws {
        let ref = try AudioReference.load()
        let fb = MelSpectrogram.filterbank
        #expect(fb.cornerFrequencies.count == ref.mel_points_hz.count)
        for (a, b) in zip(fb.cornerFrequencies, ref.mel_points_hz) { #expect(abs(a - b) <= 1e-9 * max(1, abs(b))) }
        for (m, info) in ref.filters.enumerated() {
            let count = fb.offset[m + 1] - fb.offset[m]
            #expect(fb.firstBin[m] == info.first_bin, "filter \(m) first bin")
            #expect(fb.firstBin[m] + count - 1 == info.last_bin, "filter \(m) last bin")
            let weights = (0..<MelSpectrogram.frequencyBins).map { fb.weight(bin: $0, filter: m) }
            #expect(abs(Double(weights.max()!) - info.peak) <= 1e-6, "filter \(m) peak")
            #expect(abs(weights.reduce(0.0) { $0 + Double($1) } - info.sum) <= 1e-5 * max(1, info.sum), "filter \(m) sum")
        }
        for (key, row) in ref.filterbank_rows {
            let m = Int(key)!
            #expect(row.count == MelSpectrogram.frequencyBins)
            for (k, v) in row.enumerated() {
                #expect(abs(Double(fb.weight(bin: k, filter: m)) - v) <= 1e-6, "fb[\(k), \(m)]")
            }
        }
    }

    @Test func hannWindowMatchesFormulaReference() throws {
        let ref = try AudioReference.load()
        let w = MelSpectrogram.hannWindow
        #expect(w.count == 882)
        #expect(ref.frame_window.left_zeros == MelSpectrogram.windowOffset)
        #expect(ref.frame_window.right_zeros == MelSpectrogram.fftSize - MelSpectrogram.windowOffset - MelSpectrogram.windowLength)
        for (i, v) in ref.hann_882_every_49th.values.enumerated() {
            #expect(abs(Double(w[i * ref.hann_882_every_49th.step]) - v) <= 1e-7, "hann[\(i * 49)]")
        }
        // The frame placement: sample i of the 1024-point frame is hann[i − 71] inside, 0 outside.
        for (key, v) in ref.frame_window.samples {
            let i = Int(key)!, j = i - MelSpectrogram.windowOffset
            let ours: Float = (0..<882).contains(j) ? w[j] : 0
            #expect(abs(Double(ours) - v) <= 1e-7, "frame window[\(i)]")
        }
    }

    /// A whole spectrogram of a chirp computed by numpy's FFT in float64 (tools/make_audio_reference.py).
    @Test func chirpMatchesNumpyReference() throws {
        let ref = try AudioReference.load()
        let n = ref.chirp.samples
        let chirp = (0..<n).map { k -> Float in
            let t = Double(k) / 44100
            return Float(0.25 * sin(2 * Double.pi * (200 * t + 4000 * t * t)))
        }
        let spec = try MelSpectrogram()(chirp)
        #expect(spec.shape == [1] + ref.chirp.shape)
        let frames = spec.shape[2]
        for (key, column) in ref.chirp.frames {
            let t = Int(key)!
            #expect(column.count == 64)
            let worst = (0..<64).map { m in abs(Double(spec[m * frames + t]) - column[m]) / max(1, abs(column[m])) }.max()!
            #expect(worst <= 1e-4, "chirp frame \(t): max relative difference \(worst)")
        }
    }

    @Test func silenceIsTheConstantSilentValue() throws {
        let spec = try MelSpectrogram()([Float](repeating: 0, count: AudioWindow.minimumLength))
        #expect(spec.shape == [1, 64, 104])
        #expect(spec.array.allSatisfy { $0 == MelSpectrogram.silentValue })
        #expect(abs(MelSpectrogram.silentValue - (-100 + 14.8) / 19.895) < 1e-6)
    }

    @Test func frameCountFollowsCenteredFraming() {
        #expect(MelSpectrogram.frameCount(samples: 45599) == 104)
        #expect(MelSpectrogram.frameCount(samples: 52000) == 118)
        #expect(MelSpectrogram.frameCount(samples: 47040) == 107)
        #expect(MelSpectrogram.frameCount(samples: 441) == 2)
    }

    @Test func tooShortInputIsRejectedWithAMessage() throws {
        let mel = try MelSpectrogram()
        #expect(throws: AudioError.self) { try mel([Float](repeating: 0.1, count: 512)) }
        // 513 samples is the least reflect padding of 512 allows.
        let spec = try mel([Float](repeating: 0.1, count: 513))
        #expect(spec.shape == [1, 64, 2])
    }

    /// Workspaces in parallel (one per task) give bit-identical results: the plan is shared, planning is locked.
    @Test func parallelWorkspacesAgree() async throws {
        let wave = (0..<50_000).map { (k: Int) -> Float in
            let x = Double(k)
            let a: Double = 0.4 * sin(x * 0.0123)
            let b: Double = 0.1 * sin(x * 0.31)
            return Float(a + b)
        }
        let expected = try MelSpectrogram()(wave).array
        let results = try await withThrowingTaskGroup(of: [Float].self) { group in
            for _ in 0..<8 { group.addTask { try MelSpectrogram()(wave).array } }
            var all: [[Float]] = []
            for try await r in group { all.append(r) }
            return all
        }
        #expect(results.count == 8)
        for r in results { #expect(r == expected) }
    }

    /// The CLI on the golden `short` case (a 1000-sample wave, left-padded) and on a bad input.
    @Test(.enabled(if: TestPaths.parityAvailable)) func tensorSpectrogramCommand() throws {
        let golden = try TestPaths.parityFile("spectrogram.golden.safetensors")
        let dir = TestPaths.temporaryDirectory("emopipe-audio")
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = dir.appendingPathComponent("wave.safetensors").path
        let output = dir.appendingPathComponent("spec.safetensors").path
        var w = SafeTensorsWriter()
        w.add("wave", try golden.tensor("wave_short"))
        try w.write(to: input)
        let r = try runCommand(TestPaths.emopipeBinary.path, ["tensor", "spectrogram", "--input", input, "--output", output])
        #expect(r.status == 0, "\(r.stderr)")
        let spec = try SafeTensorsFile(path: output).tensor("spec")
        let reference = try golden.tensor("spec_short")
        #expect(spec.shape == [1, 64, 104])
        let p = parity(spec, reference)
        #expect(p.passed, "\(p)")

        var bad = SafeTensorsWriter()
        bad.add("audio", Tensor(zeros: [2, 10]))
        try bad.write(to: input)
        let e = try runCommand(TestPaths.emopipeBinary.path, ["tensor", "spectrogram", "--input", input, "--output", output + ".2"])
        #expect(e.status != 0 && !e.crashed)
        #expect(e.stderr.contains("wave"))
        #expect(!FileManager.default.fileExists(atPath: output + ".2"))
    }
}

/// Fixtures/audio/reference.json, written by tools/make_audio_reference.py.
struct AudioReference: Decodable {
    struct Hann: Decodable { let step: Int; let values: [Double] }
    struct FrameWindow: Decodable { let left_zeros: Int; let right_zeros: Int; let samples: [String: Double] }
    struct Filter: Decodable { let first_bin: Int; let last_bin: Int; let peak: Double; let sum: Double }
    struct Window: Decodable { let timestamps: String; let frame: Int; let start: Int; let end: Int; let padded_length: Int }
    struct Chirp: Decodable { let samples: Int; let shape: [Int]; let frames: [String: [Double]] }

    let hann_882_every_49th: Hann
    let frame_window: FrameWindow
    let mel_points_hz: [Double]
    let filterbank_rows: [String: [Double]]
    let filters: [Filter]
    let timestamps: [String: [Double]]
    let windows: [Window]
    let chirp: Chirp

    static func load() throws -> AudioReference {
        let url = URL(fileURLWithPath: TestPaths.fixture("audio/reference.json"))
        return try JSONDecoder().decode(AudioReference.self, from: Data(contentsOf: url))
    }
}
