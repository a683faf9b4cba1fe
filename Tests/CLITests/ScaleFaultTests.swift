// Faults of issue 15's commands: a features file that cannot be written, signals while it is staged, a file that is
// not a cache, a worker's claims in a folder it cannot write, --shard slurm outside an array. Each is one line
// `emopipe: FILE: what happened (what to do)`, the right exit status, and nothing left behind.
import Foundation
import Testing
import TestSupport

@Suite(.serialized) struct ScaleFaultTests {
    @Test func featuresOnAFullDeviceOrAFolder() throws {
        let dir = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let crops = try Faults.tinyCrops(in: dir)
        let full = try runCommand(Faults.bin, ["features", crops, "--model", try Faults.model(), "-q", "-o", "/dev/full"])
        Faults.expectOneLine(full, file: "/dev/full", says: "cannot write (No space left on device)")
        let folder = try runCommand(Faults.bin, ["features", crops, "--model", try Faults.model(), "-q", "-o", dir.path])
        Faults.expectOneLine(folder, file: dir.path, says: "is a folder")
        let noBackbones = try runCommand(Faults.bin, ["features", crops, "-q", "-o", dir.appendingPathComponent("f").path],
                                         environment: ["EMOPIPE_MODEL": ""])
        #expect(noBackbones.status == 1 && noBackbones.stderr.contains("no backbones given"))
        #expect(Faults.contents(dir) == ["crops"] && Faults.temporaries(in: dir).isEmpty)
    }

    /// SIGTERM while the features are being staged: the output's and the staging files are all removed.
    @Test func signalRemovesTheStagedFeatures() throws {
        let dir = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("f.safetensors").path
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Faults.bin)
        p.arguments = ["features", TestPaths.fixture("media/noaudio.mp4"), "--model", try Faults.model(), "-q", "-o", out]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        let staged = dir.appendingPathComponent(".f.safetensors.visual.tmp-\(p.processIdentifier)").path
        let deadline = Date().addingTimeInterval(120)
        while !FileManager.default.fileExists(atPath: staged) && p.isRunning && Date() < deadline { usleep(5_000) }
        try #require(FileManager.default.fileExists(atPath: staged), "no staging file appeared: \(Faults.contents(dir))")
        kill(p.processIdentifier, SIGTERM)
        p.waitUntilExit()
        #expect(p.terminationReason == .uncaughtSignal && p.terminationStatus == SIGTERM)
        #expect(Faults.contents(dir).isEmpty, "left: \(Faults.contents(dir))")
    }

    @Test func notAFeaturesFile() throws {
        let dir = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let weights = try Faults.model() + "/head_rjca.safetensors"
        let r = try runCommand(Faults.bin, ["run", "--features", weights, "--model", try Faults.model()])
        Faults.expectOneLine(r, file: weights, says: "is not an emopipe features file")
        let missing = dir.appendingPathComponent("none.safetensors").path
        let m = try runCommand(Faults.bin, ["run", "--features", missing, "--model", try Faults.model()])
        Faults.expectOneLine(m, file: missing, says: "no such file")
        let both = try runCommand(Faults.bin, ["run", TestPaths.fixture("media/noaudio.mp4"), "--features", weights])
        #expect(both.status == 64)
    }

    /// `--shard slurm` outside a job array, and an array whose task cannot tell its shard (a list with gaps): one
    /// line, exit 1, nothing run or created.
    @Test func slurmShardsThatCannotBeMapped() throws {
        let dir = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let inputs = dir.appendingPathComponent("in"), outputs = dir.appendingPathComponent("out")
        _ = try Faults.tinyCrops(in: inputs, name: "a")
        let outside = try runCommand(Faults.bin, ["batch", inputs.path, outputs.path, "--shard", "slurm", "--model", try Faults.model()])
        Faults.expectOneLine(outside, file: "--shard slurm", says: "SLURM_ARRAY_TASK_ID is not set")
        let gaps = try runCommand(Faults.bin, ["batch", inputs.path, outputs.path, "--model", try Faults.model()],
                                  environment: ["SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_MIN": "1", "SLURM_ARRAY_TASK_MAX": "7",
                                                "SLURM_ARRAY_TASK_COUNT": "3", "SLURM_ARRAY_TASK_STEP": "1"])
        #expect(gaps.status == 1 && Faults.errorLines(gaps).count == 1, "\(gaps.stderr)")
        #expect(gaps.stderr.contains("is not an evenly spaced range") && gaps.stderr.contains("--shard I/3"))
        #expect(!FileManager.default.fileExists(atPath: outputs.path))
    }
}
