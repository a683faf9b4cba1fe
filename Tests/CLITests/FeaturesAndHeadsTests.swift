// Issue 15: every head in one pass of the backbones (`--head a,b,…`), and cached features (`emopipe features`,
// `emopipe run --features`), with the real backbones and the seven synthetic heads.
import Foundation
import Testing
import TestSupport

enum Heads {
    static let bin = TestPaths.emopipeBinary.path
    static let all = ["ca", "jca", "rjca", "dca", "iaca", "tca", "jmt"]

    /// `--backbones … --head a,b,… --head-weights …` over the synthetic models of each head (one backbones file).
    static func options(_ heads: [String]) throws -> [String] {
        let folders = try heads.map { try SyntheticModels.shared.folder(head: $0) }
        return ["--backbones", folders[0] + "/tsav.safetensors", "--head", heads.joined(separator: ","),
                "--head-weights", zip(heads, folders).map { "\($1)/head_\($0).safetensors" }.joined(separator: ",")]
    }

    /// A crop folder with audio: six frames (one without a crop), the 25 fps clip's sound. The clean protocol: the
    /// official one would take the frames from the video's timestamps (51 rows for its 50 frames + end line).
    static let input = [TestPaths.fixture("cropped_aligned/clip"), "--audio", TestPaths.fixture("media/25fps.mp4"), "--protocol", "clean"]

    static func csv(_ text: String) -> [[String]] { text.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) } }
}

@Suite(.serialized) struct FeaturesAndHeadsTests {
    /// Seven heads on one pass of the backbones: the CSV has valence_<head>,arousal_<head> per head, each pair equal
    /// to that head's own run. The features of the same input, cached, give every head's rows byte for byte as its
    /// full run, one head at a time and all seven at once.
    @Test func sevenHeadsInOnePassAndFromCachedFeatures() throws {
        let dir = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let seven = try Heads.options(Heads.all)
        let full = try runCommand(Heads.bin, Heads.input + seven + ["-q"], timeout: 900)
        try #require(full.status == 0, "\(full.stderr)")
        let table = Heads.csv(full.stdoutText)
        #expect(table[0] == ["frame", "time", "face"] + Heads.all.flatMap { ["valence_\($0)", "arousal_\($0)"] })
        #expect(table.count == 7)

        let cache = dir.appendingPathComponent("clip.safetensors").path
        let made = try runCommand(Heads.bin, ["features"] + Heads.input + ["--backbones", seven[1], "-o", cache], timeout: 900)
        try #require(made.status == 0, "\(made.stderr)")
        #expect(made.stderr.contains("6 frames (5 with a face)"))
        let fromCache = try runCommand(Heads.bin, ["run", "--features", cache] + seven.dropFirst(2) + ["-q"])
        #expect(fromCache.status == 0, "\(fromCache.stderr)")
        #expect(fromCache.stdout == full.stdout, "seven heads on cached features differ from the full run")

        for (h, head) in Heads.all.enumerated() {
            let model = try SyntheticModels.shared.folder(head: head)
            let alone = try runCommand(Heads.bin, Heads.input + ["--model", model, "-q"], timeout: 900)
            try #require(alone.status == 0, "\(alone.stderr)")
            let rows = Heads.csv(alone.stdoutText)
            #expect(rows[0] == ["frame", "time", "face", "valence", "arousal"], "one head: the format is unchanged")
            #expect(zip(rows, table).dropFirst().allSatisfy { $0 == Array($1[0..<3]) + [$1[3 + 2 * h], $1[4 + 2 * h]] },
                    "\(head): its columns of the seven-head run differ from its own run")
            let cached = try runCommand(Heads.bin, ["run", "--features", cache, "--model", model, "-q"])
            #expect(cached.status == 0, "\(cached.stderr)")
            #expect(cached.stdout == alone.stdout, "\(head): rows from cached features differ from the full run")
        }
    }

    /// JSON lines carry the same keys as the CSV's columns; ABAW files hold one head, so `run` refuses several
    /// (a usage error) and `batch` writes OUT/<head>/<name>.txt, which `eval` reads like any ABAW folder.
    @Test func formatsWithSeveralHeads() throws {
        let dir = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let two = try Heads.options(["jca", "jmt"])
        let crops = try Faults.tinyCrops(in: dir.appendingPathComponent("in"), name: "clip")
        let j = try runCommand(Heads.bin, [crops] + two + ["--format", "jsonl", "-q"])
        #expect(j.status == 0, "\(j.stderr)")
        let first = try JSONSerialization.jsonObject(with: Data(j.stdoutText.split(separator: "\n")[0].utf8)) as! [String: Any]
        #expect(Set(first.keys) == ["frame", "time", "face", "valence_jca", "arousal_jca", "valence_jmt", "arousal_jmt"])
        let abaw = try runCommand(Heads.bin, [crops] + two + ["--format", "abaw"])
        #expect(abaw.status == 64 && abaw.stderr.contains("holds one head"))

        let out = dir.appendingPathComponent("out")
        let b = try runCommand(Heads.bin, ["batch", dir.appendingPathComponent("in").path, out.path] + two, timeout: 600)
        #expect(b.status == 0, "\(b.stderr)")
        #expect(Faults.contents(out) == ["jca", "jmt"])
        for head in ["jca", "jmt"] {
            let text = try String(contentsOf: out.appendingPathComponent("\(head)/clip.txt"), encoding: .utf8)
            #expect(text.hasPrefix("valence,arousal\n") && text.split(separator: "\n").count == 3)
        }
        let again = try runCommand(Heads.bin, ["batch", dir.appendingPathComponent("in").path, out.path] + two)
        #expect(again.stderr.contains("0 done, 1 skipped"), "\(again.stderr)")
    }

    /// docs/cli.md's PyTorch snippet loads a cache as documented (run when the reference Python environment,
    /// ../pyenv or $EMOPIPE_PYTHON, is there: tools/pyenv.sh makes it).
    @Test func pytorchLoadsTheCache() throws {
        let python = ProcessInfo.processInfo.environment["EMOPIPE_PYTHON"]
            ?? TestPaths.packageRoot.deletingLastPathComponent().appendingPathComponent("pyenv/bin/python").path
        guard FileManager.default.isExecutableFile(atPath: python) else {
            print("pytorchLoadsTheCache: no Python environment at \(python) (tools/pyenv.sh makes one); not run")
            return
        }
        let dir = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let cache = dir.appendingPathComponent("clip.safetensors").path
        let model = try SyntheticModels.shared.folder(head: "jca")
        let made = try runCommand(Heads.bin, ["features"] + Heads.input + ["--model", model, "-o", cache, "-q"], timeout: 900)
        try #require(made.status == 0, "\(made.stderr)")
        let script = TestPaths.packageRoot.appendingPathComponent("tools/features_load.py").path
        let r = try runCommand(python, [script, cache])
        #expect(r.status == 0, "\(r.stdoutText) \(r.stderr)")
        #expect(r.stdoutText.contains("sequences (6, 16, 25088) (6, 16, 512) (6, 16, 512)"), "\(r.stdoutText)")
        let doc = try String(contentsOf: TestPaths.packageRoot.appendingPathComponent("docs/cli.md"), encoding: .utf8)
        let code = try String(contentsOfFile: script, encoding: .utf8)
        let snippet = code.components(separatedBy: "# --- snippet ---\n")[1].components(separatedBy: "# --- end ---")[0]
        #expect(doc.contains(snippet), "docs/cli.md shows tools/features_load.py's snippet unchanged")
    }
}
