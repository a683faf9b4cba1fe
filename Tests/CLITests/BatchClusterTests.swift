// Issue 15, dataset scale: `emopipe batch` split into shards (--plan, --shard), workers sharing one output folder
// through claims, and a real SLURM job array on a single-node cluster started from Debian's packages.
import Foundation
import Testing
import TestSupport

enum Cluster {
    static let bin = TestPaths.emopipeBinary.path

    /// The inputs each `batch` worker ran, from its `[k/n] NAME: N frames … → OUT` lines.
    static func ran(_ stderr: String) -> [String] {
        stderr.split(separator: "\n").compactMap { line -> String? in
            guard line.hasPrefix("["), line.contains(" frames ("), line.contains(" → "),
                  let close = line.firstIndex(of: "]"), let colon = line.range(of: ": ", range: close..<line.endIndex) else { return nil }
            return String(line[line.index(close, offsetBy: 2)..<colon.lowerBound])
        }
    }

    /// Claim files (and their staging files) left in a folder.
    static func claims(in dir: URL) -> [String] {
        Faults.contents(dir).filter { $0.contains(".claim") }
    }

    /// A crop folder whose highest crop number is `frames` (one image: the frame count is all `--plan` reads).
    static func sparseCrops(in dir: URL, name: String, frames: Int) throws {
        let folder = dir.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: TestPaths.fixture("cropped_aligned/clip/00001.jpg"),
                                         toPath: folder.appendingPathComponent(String(format: "%05d.jpg", frames)).path)
    }

    /// Starts `emopipe ARGS` without waiting; stderr goes to `log`.
    static func start(_ arguments: [String], log: URL) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: bin)
        p.arguments = arguments
        FileManager.default.createFile(atPath: log.path, contents: nil)
        p.standardError = try FileHandle(forWritingTo: log)
        p.standardOutput = FileHandle.nullDevice
        p.standardInput = FileHandle.nullDevice
        try p.run()
        return p
    }
}

@Suite(.serialized) struct BatchShardingTests {
    /// Twenty inputs of different lengths (eighteen crop folders and two videos, whose frame counts are probed):
    /// four shards within 20 % of each other in frames, every input in exactly one shard, the same plan whichever
    /// shard asks and on every call; nothing is run or created.
    @Test func planSplitsTwentyInputsEvenly() throws {
        let dir = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let inputs = dir.appendingPathComponent("in"), outputs = dir.appendingPathComponent("out")
        let lengths = [12, 64, 100, 128, 150, 200, 256, 300, 333, 400, 450, 512, 600, 700, 777, 800, 900, 1000]
        for (i, n) in lengths.enumerated() { try Cluster.sparseCrops(in: inputs, name: String(format: "v%02d", i + 1), frames: n) }
        for video in ["noaudio.mp4", "25fps.mp4"] {   // 30 and 50 frames
            try FileManager.default.copyItem(atPath: TestPaths.fixture("media/" + video), toPath: inputs.appendingPathComponent(video).path)
        }
        let r = try runCommand(Cluster.bin, ["batch", inputs.path, outputs.path, "--plan", "--shard", "2/4"])
        #expect(r.status == 0, "\(r.stderr)")
        var lines = r.stdoutText.split(separator: "\n").map(String.init)
        #expect(lines.removeFirst() == "shard,input,frames,status")
        var frames = [Int](repeating: 0, count: 4), seen: [String] = []
        for line in lines {
            let f = line.split(separator: ",").map(String.init)
            try #require(f.count == 4 && f[3] == "to do", "\(line)")
            frames[Int(f[0])! - 1] += Int(f[2])!
            seen.append(f[1])
        }
        #expect(seen.sorted() == (lengths.indices.map { String(format: "v%02d", $0 + 1) } + ["25fps", "noaudio"]).sorted())
        #expect(frames.reduce(0, +) == lengths.reduce(0, +) + 80)
        #expect(Double(frames.max()!) <= 1.2 * Double(frames.min()!), "shard frames \(frames)")
        for other in ["1/4", "4/4"] {
            let again = try runCommand(Cluster.bin, ["batch", inputs.path, outputs.path, "--plan", "--shard", other])
            #expect(again.stdout == r.stdout)
        }
        #expect(!FileManager.default.fileExists(atPath: outputs.path))
        // A shard number out of range is a usage error.
        let bad = try runCommand(Cluster.bin, ["batch", inputs.path, outputs.path, "--plan", "--shard", "0/4"])
        #expect(bad.status == 64)
    }

    /// Two workers started together on the same IN and OUT: every input run exactly once, by one or the other;
    /// every output written; no claim left behind.
    @Test func twoWorkersRunEveryInputOnce() throws {
        let dir = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let inputs = dir.appendingPathComponent("in"), outputs = dir.appendingPathComponent("out")
        let names = ["a", "b", "c", "d"]
        for n in names { _ = try Faults.tinyCrops(in: inputs, name: n) }
        let model = try SyntheticModels.shared.folder(head: "rjca")
        let args = ["batch", inputs.path, outputs.path, "--model", model, "--threads", "1"]
        let logs = [dir.appendingPathComponent("a.log"), dir.appendingPathComponent("b.log")]
        let workers = try logs.map { try Cluster.start(args, log: $0) }
        for w in workers { w.waitUntilExit() }
        let errs = try logs.map { try String(contentsOf: $0, encoding: .utf8) }
        #expect(workers.allSatisfy { $0.terminationStatus == 0 }, "\(errs)")
        let ran = errs.map(Cluster.ran)
        #expect((ran[0] + ran[1]).sorted() == names, "worker A ran \(ran[0]), worker B \(ran[1])")
        #expect(Set(ran[0]).isDisjoint(with: ran[1]))
        #expect(Faults.contents(outputs) == names.map { "\($0).txt" })
        #expect(Cluster.claims(in: outputs).isEmpty && Faults.temporaries(in: outputs).isEmpty)
    }

    /// A worker killed (SIGKILL) in the middle of an input leaves its claim; the next worker sees the process is
    /// gone, takes the claim over and runs the input.
    @Test func killedWorkersClaimIsTakenOver() throws {
        let dir = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let inputs = dir.appendingPathComponent("in"), outputs = dir.appendingPathComponent("out")
        _ = try Faults.tinyCrops(in: inputs, name: "clip")
        let model = try SyntheticModels.shared.folder(head: "rjca")
        let args = ["batch", inputs.path, outputs.path, "--model", model, "--threads", "1"]
        let first = try Cluster.start(args, log: dir.appendingPathComponent("first.log"))
        let claim = outputs.appendingPathComponent(".clip.claim.0").path
        let deadline = Date().addingTimeInterval(120)
        while !FileManager.default.fileExists(atPath: claim) && first.isRunning && Date() < deadline { usleep(2_000) }
        kill(first.processIdentifier, SIGKILL)
        first.waitUntilExit()
        try #require(first.terminationReason == .uncaughtSignal, "the worker was killed")
        let text = try String(contentsOfFile: claim, encoding: .utf8)
        #expect(text.hasPrefix("pid=\(first.processIdentifier) host="))
        #expect(!FileManager.default.fileExists(atPath: outputs.appendingPathComponent("clip.txt").path), "killed before its output")

        let second = try runCommand(Cluster.bin, args, timeout: 600)
        #expect(second.status == 0, "\(second.stderr)")
        #expect(second.stderr.contains("[1/1] clip: taking over the claim of process \(first.processIdentifier) on "))
        #expect(Cluster.ran(second.stderr) == ["clip"])
        #expect(Faults.contents(outputs) == ["clip.txt"], "no claim or temporary file left: \(Faults.contents(outputs))")
    }

    /// `--jobs 2`: two inputs at once in one process (one thread each, the model shared), the same bytes as one job.
    @Test func jobsWriteTheSameBytesAsOneJob() throws {
        let dir = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let inputs = dir.appendingPathComponent("in")
        for n in ["a", "b", "c"] { _ = try Faults.tinyCrops(in: inputs, name: n) }
        let model = try SyntheticModels.shared.folder(head: "jmt")
        let one = dir.appendingPathComponent("one"), two = dir.appendingPathComponent("two")
        let r1 = try runCommand(Cluster.bin, ["batch", inputs.path, one.path, "--model", model, "--threads", "2", "--jobs", "1"], timeout: 600)
        let r2 = try runCommand(Cluster.bin, ["batch", inputs.path, two.path, "--model", model, "--threads", "2", "--jobs", "2"], timeout: 600)
        #expect(r1.status == 0 && r2.status == 0, "\(r1.stderr) \(r2.stderr)")
        #expect(Cluster.ran(r2.stderr).sorted() == ["a", "b", "c"])
        for n in ["a.txt", "b.txt", "c.txt"] {
            #expect(FileManager.default.contents(atPath: two.appendingPathComponent(n).path)
                    == FileManager.default.contents(atPath: one.appendingPathComponent(n).path), "\(n)")
        }
        let tooMany = try runCommand(Cluster.bin, ["batch", inputs.path, two.path, "--model", model, "--threads", "2", "--jobs", "3"])
        #expect(tooMany.status == 64 && tooMany.stderr.contains("each job needs a thread"))
    }

    /// A claim of a live process (here, this test process) is respected: the input is skipped and reported.
    @Test func liveClaimIsSkipped() throws {
        let dir = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let inputs = dir.appendingPathComponent("in"), outputs = dir.appendingPathComponent("out")
        _ = try Faults.tinyCrops(in: inputs, name: "held")
        try FileManager.default.createDirectory(at: outputs, withIntermediateDirectories: true)
        let boot = (try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        var name = [CChar](repeating: 0, count: 256)
        gethostname(&name, 255)
        let host = String(cString: name)
        let claim = outputs.appendingPathComponent(".held.claim.0").path
        try "pid=\(getpid()) host=\(host) boot=\(boot) start=0\n".write(toFile: claim, atomically: true, encoding: .utf8)
        let r = try runCommand(Cluster.bin, ["batch", inputs.path, outputs.path, "--model", try SyntheticModels.shared.folder(head: "rjca")])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("[1/1] held: claimed by process \(getpid()) on "), "\(r.stderr)")
        #expect(r.stderr.contains("0 done, 0 skipped, 0 failed, 1 claimed by other workers"))
        #expect(Faults.contents(outputs) == [".held.claim.0"])
    }
}

/// A real SLURM cluster: munged, slurmctld and slurmd from Debian's packages, started by tools/slurm/cluster.sh in
/// a folder of their own (own ports, socket, key, state), run a 3-task job array of `emopipe batch` — the committed
/// sbatch script docs/cluster.md shows — over fixture inputs; the outputs are byte-identical to one `batch` process.
@Suite(.serialized) struct SLURMArrayTests {
    /// Needs root (slurmd starts the jobs; CI runs as root) and `make`'s slurm-wlm and munge (missing: it fails).
    @Test(.enabled(if: getuid() == 0, "the test cluster's slurmd needs root")) func arrayOfThreeMatchesOneProcess() throws {
        let dir = TestPaths.temporaryDirectory("emopipe-slurm")
        defer { try? FileManager.default.removeItem(at: dir) }
        let inputs = dir.appendingPathComponent("in")
        try FileManager.default.createDirectory(at: inputs, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: TestPaths.fixture("media/rotated.mp4"), toPath: inputs.appendingPathComponent("rotated.mp4").path)
        try FileManager.default.copyItem(atPath: TestPaths.fixture("cropped_aligned/clip"), toPath: inputs.appendingPathComponent("clip").path)
        for n in ["tiny1", "tiny2"] { _ = try Faults.tinyCrops(in: inputs, name: n) }
        let model = try SyntheticModels.shared.folder(head: "rjca")

        let one = dir.appendingPathComponent("one"), array = dir.appendingPathComponent("array")
        let reference = try runCommand(Cluster.bin, ["batch", inputs.path, one.path, "--model", model, "--threads", "1"], timeout: 900)
        try #require(reference.status == 0, "\(reference.stderr)")

        let script = TestPaths.packageRoot.appendingPathComponent("tools/slurm/emopipe-array.sbatch").path
        let cluster = TestPaths.packageRoot.appendingPathComponent("tools/slurm/cluster.sh").path
        let work = dir.appendingPathComponent("work")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        let r = try runCommand("/bin/bash", [cluster, "run", dir.appendingPathComponent("cluster").path,
                                             "sbatch", "--wait", "--array=0-2", "--chdir", work.path, script,
                                             inputs.path, array.path, "--model", model],
                               environment: ["EMOPIPE": Cluster.bin], timeout: 900)
        let logs = Faults.contents(work).filter { $0.hasSuffix(".log") }
        let text = try logs.map { try String(contentsOf: work.appendingPathComponent($0), encoding: .utf8) }
        #expect(r.status == 0, "sbatch: \(r.stdoutText) \(r.stderr) logs: \(text)")
        #expect(logs.count == 3, "one log per task: \(logs)")
        for k in 1...3 { #expect(text.contains { $0.contains("shard \(k)/3: ") }, "shard \(k)/3 ran: \(text)") }
        #expect(text.flatMap(Cluster.ran).sorted() == ["clip", "rotated", "tiny1", "tiny2"], "each input once: \(text)")
        let names = Faults.contents(one)
        #expect(names == ["clip.txt", "rotated.txt", "tiny1.txt", "tiny2.txt"])
        #expect(Faults.contents(array) == names, "no claim or temporary file left")
        for n in names {
            #expect(FileManager.default.contents(atPath: array.appendingPathComponent(n).path)
                    == FileManager.default.contents(atPath: one.appendingPathComponent(n).path), "\(n) differs")
        }
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("cluster").path), "the cluster was stopped")
    }

    /// docs/cluster.md shows the sbatch script the test runs, unchanged.
    @Test func docsShowTheScript() throws {
        let script = try String(contentsOf: TestPaths.packageRoot.appendingPathComponent("tools/slurm/emopipe-array.sbatch"), encoding: .utf8)
        let doc = try String(contentsOf: TestPaths.packageRoot.appendingPathComponent("docs/cluster.md"), encoding: .utf8)
        #expect(doc.contains("```sh\n" + script + "```"))
    }
}
