import Foundation
import Testing
import TestSupport

/// Synthetic model folders (weights by the parity rule), made once per test process by the binary itself.
final class SyntheticModels: @unchecked Sendable {
    static let shared = SyntheticModels()
    private let lock = NSLock()
    private let root: URL = {
        let dir = TestPaths.temporaryDirectory("emopipe-models")
        SyntheticModels.cleanupPath = dir.path
        atexit { if let path = SyntheticModels.cleanupPath { try? FileManager.default.removeItem(atPath: path) } }
        return dir
    }()
    /// The folder removed when the test process exits: a few heads' weights are 1.7 GB, and each `make test` would
    /// otherwise leave them in the temporary folder until the disk is full.
    nonisolated(unsafe) static var cleanupPath: String?
    private var made: [String: String] = [:]

    func folder(head: String) throws -> String {
        lock.lock(); defer { lock.unlock() }
        if let f = made[head] { return f }
        let dir = root.appendingPathComponent(head).path
        let r = try runCommand(TestPaths.emopipeBinary.path, ["models", "synth", dir, "--head", head])
        guard r.status == 0 else { throw TestFailure("models synth failed: \(r.stderr)") }
        made[head] = dir
        return dir
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// A line of Fixtures/goldens/runs.txt under one protocol: `clean` → goldens/NAME.csv, `official` (the default)
/// → goldens/official/NAME.csv (tools/make_goldens.sh).
struct GoldenRun: CustomStringConvertible, Sendable {
    let name: String, head: String, input: String, options: [String], protocolName: String
    var description: String { "\(name) (\(protocolName))" }

    static let all: [GoldenRun] = {
        let text = (try? String(contentsOf: TestPaths.fixtures.appendingPathComponent("goldens/runs.txt"), encoding: .utf8)) ?? ""
        let lines = text.split(separator: "\n").filter { !$0.hasPrefix("#") && !$0.isEmpty }.map { $0.split(separator: " ").map(String.init) }
        return ["clean", "official"].flatMap { proto in
            lines.map { p in GoldenRun(name: p[0], head: p[1], input: p[2], options: Array(p.dropFirst(3)), protocolName: proto) }
        }
    }()

    var arguments: [String] {
        [TestPaths.fixture(input)] + options.map { $0.hasPrefix("media/") ? TestPaths.fixture($0) : $0 } + ["--protocol", protocolName]
    }

    var goldenFile: URL {
        TestPaths.fixtures.appendingPathComponent(protocolName == "clean" ? "goldens/\(name).csv" : "goldens/\(protocolName)/\(name).csv")
    }
}

struct Row: Equatable {
    let frame: Int, time: Double, face: Int, valence: Double, arousal: Double
}

func parseCSV(_ text: String) throws -> [Row] {
    var lines = text.split(separator: "\n")
    guard lines.first == "frame,time,face,valence,arousal" else { throw TestFailure("bad header: \(lines.first ?? "")") }
    lines.removeFirst()
    return try lines.map { line in
        let f = line.split(separator: ",")
        guard f.count == 5, let a = Int(f[0]), let b = Double(f[1]), let c = Int(f[2]), let d = Double(f[3]), let e = Double(f[4]) else {
            throw TestFailure("bad row: \(line)")
        }
        return Row(frame: a, time: b, face: c, valence: d, arousal: e)
    }
}

@Suite(.serialized) struct PipelineRunTests {
    let bin = TestPaths.emopipeBinary.path

    /// Every fixture run: one row per decoded frame, increasing times, finite values in [-1, 1], equal to the
    /// reviewed golden within 1e-4 (BLAS summation order may differ between machines).
    @Test(arguments: GoldenRun.all)
    func matchesGolden(run: GoldenRun) throws {
        let model = try SyntheticModels.shared.folder(head: run.head)
        let r = try runCommand(bin, run.arguments + ["--model", model, "-q"], timeout: 600)
        let truncated = run.input.contains("truncated")
        #expect(r.status == (truncated ? 3 : 0), "\(r.stderr)")
        #expect(!r.crashed)
        if truncated { #expect(r.stderr.contains("truncated")) }
        // Deterministic: a second run gives the same bytes.
        let again = try runCommand(bin, run.arguments + ["--model", model, "-q"], timeout: 600)
        #expect(again.stdout == r.stdout)
        let rows = try parseCSV(r.stdoutText)
        let golden = try parseCSV(String(contentsOf: run.goldenFile, encoding: .utf8))
        #expect(rows.count == golden.count)
        #expect(rows.map(\.frame) == Array(1...rows.count))
        #expect(zip(rows.dropFirst(), rows).allSatisfy { $0.time > $1.time })
        #expect(rows.allSatisfy { $0.valence.isFinite && $0.arousal.isFinite && abs($0.valence) <= 1 && abs($0.arousal) <= 1 })
        for (a, g) in zip(rows, golden) {
            #expect(a.frame == g.frame && a.face == g.face && abs(a.time - g.time) < 1e-6)
            #expect(abs(a.valence - g.valence) <= 1e-4 && abs(a.arousal - g.arousal) <= 1e-4, "frame \(a.frame): \(a) vs \(g)")
        }
    }

    @Test func frameCountMatchesTheDecoder() throws {
        // The video runs: as many rows as ffprobe counts frames (Fixtures/expected.json).
        let exp = try JSONSerialization.jsonObject(with: Data(contentsOf: TestPaths.fixtures.appendingPathComponent("expected.json"))) as! [String: Any]
        for (run, clip) in [("noaudio_jmt", "noaudio.mp4"), ("stereo_rjca", "av_48k_stereo.mp4"), ("fps25_tca", "25fps.mp4"),
                            ("vfr_iaca", "vfr.mkv")] {
            let golden = try parseCSV(String(contentsOf: TestPaths.fixtures.appendingPathComponent("goldens/\(run).csv"), encoding: .utf8))
            let times = (exp[clip] as! [String: Any])["times"] as! [Any]
            #expect(golden.count == times.count)
        }
    }

    @Test func outputIsByteIdenticalAcrossRuns() throws {
        let model = try SyntheticModels.shared.folder(head: "rjca")
        let args = [TestPaths.fixture("cropped_aligned/clip"), "--audio", TestPaths.fixture("media/25fps.mp4"), "--model", model, "-q"]
        let a = try runCommand(bin, args), b = try runCommand(bin, args)
        #expect(a.status == 0 && b.status == 0)
        #expect(a.stdout == b.stdout && !a.stdout.isEmpty)
    }

    @Test func formatsFileOutputAndPlot() throws {
        let model = try SyntheticModels.shared.folder(head: "rjca")
        let dir = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("va.txt").path, svg = dir.appendingPathComponent("va.svg").path
        let r = try runCommand(bin, [TestPaths.fixture("cropped_aligned/clip"), "--model", model, "--format", "abaw", "-o", out, "--plot", svg, "-q"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.isEmpty)
        let lines = try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n")
        #expect(lines.first == "valence,arousal" && lines.count == 7)
        #expect(try String(contentsOfFile: svg, encoding: .utf8).contains("<title>no face</title>"))
        let j = try runCommand(bin, [TestPaths.fixture("cropped_aligned/clip"), "--model", model, "--format", "jsonl", "-q"])
        let first = try JSONSerialization.jsonObject(with: Data(j.stdoutText.split(separator: "\n")[0].utf8)) as! [String: Any]
        #expect(first["frame"] as? Int == 1 && first["face"] as? Int == 1)
        #expect(j.stderr.contains("no audio"))
    }

    @Test func withoutWeightsItSaysHowToGetThemAndPrintsNothing() throws {
        let r = try runCommand(bin, [TestPaths.fixture("media/noaudio.mp4")], environment: ["EMOPIPE_MODEL": ""])
        #expect(r.status != 0)
        #expect(r.stdout.isEmpty)
        #expect(r.stderr.contains("docs/weights.md") && r.stderr.contains("emopipe convert"))
    }

    @Test func failureLeavesNoOutputFile() throws {
        let dir = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = try SyntheticModels.shared.folder(head: "rjca")
        // A head file of another head is refused before anything is written.
        let jmt = try SyntheticModels.shared.folder(head: "jmt")
        let out = dir.appendingPathComponent("va.csv").path
        let r = try runCommand(bin, [TestPaths.fixture("cropped_aligned/clip"), "--backbones", model + "/tsav.safetensors",
                                     "--head", "rjca", "--head-weights", jmt + "/head_jmt.safetensors", "-o", out])
        #expect(r.status == 1)
        #expect(r.stderr.contains("jmt"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
        // A missing input.
        let m = try runCommand(bin, [dir.appendingPathComponent("nope.mp4").path, "--model", model, "-o", out])
        #expect(m.status == 1 && m.stderr.contains("no such file"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
    }

    @Test func modelsListsSearchPath() throws {
        let model = try SyntheticModels.shared.folder(head: "rjca")
        let r = try runCommand(bin, ["models"], environment: ["EMOPIPE_MODEL": model])
        #expect(r.status == 0)
        #expect(r.stdoutText.contains(model) && r.stdoutText.contains("rjca"))
    }
}

@Suite(.serialized) struct BatchAndEvalTests {
    let bin = TestPaths.emopipeBinary.path

    /// A folder with a crop folder and a video: one ABAW file each; a second run skips them; eval reads them back.
    @Test func batchWritesOneFilePerInputAndResumes() throws {
        let model = try SyntheticModels.shared.folder(head: "rjca")
        let dir = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let inputs = dir.appendingPathComponent("in"), outputs = dir.appendingPathComponent("out")
        try FileManager.default.createDirectory(at: inputs, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: TestPaths.fixture("cropped_aligned/clip"), toPath: inputs.appendingPathComponent("clip").path)
        try FileManager.default.copyItem(atPath: TestPaths.fixture("media/corrupt.avi"), toPath: inputs.appendingPathComponent("bad.avi").path)
        try Data("not a video".utf8).write(to: inputs.appendingPathComponent("broken.mp4"))
        let r = try runCommand(bin, ["batch", inputs.path, outputs.path, "--model", model], timeout: 600)
        #expect(r.status == 1, "one input is broken: \(r.stderr)")
        #expect(r.stderr.contains("broken.mp4") || r.stderr.contains("broken"))
        let made = try FileManager.default.contentsOfDirectory(atPath: outputs.path).sorted()
        #expect(made == ["bad.txt", "clip.txt"])
        let clip = try String(contentsOfFile: outputs.appendingPathComponent("clip.txt").path, encoding: .utf8).split(separator: "\n")
        #expect(clip.first == "valence,arousal" && clip.count == 7)
        let again = try runCommand(bin, ["batch", inputs.path, outputs.path, "--model", model])
        #expect(again.stderr.contains("2 skipped"))
        // eval: a varying series against itself gives CCC 1.
        let series = dir.appendingPathComponent("series.txt").path
        try "valence,arousal\n0.1,0.2\n-0.3,0.5\n0.7,-0.1\n".write(toFile: series, atomically: true, encoding: .utf8)
        let e = try runCommand(bin, ["eval", series, series])
        #expect(e.status == 0, "\(e.stderr)")
        let j = try JSONSerialization.jsonObject(with: e.stdout) as! [String: Any]
        #expect(abs((j["ccc_mean"] as! Double) - 1) < 1e-9)
    }
}
