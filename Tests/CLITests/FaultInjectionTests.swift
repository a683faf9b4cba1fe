// The fault-injection suite of issue 13 (orchestration faults 1, 5, 7, 8, 9, 10, and fault 6's memory bound): each
// fault is made for real (a full device, closed descriptors, a pipe whose reader left, signals, special files,
// clashing names, bad numbers, audio far from the frames) and each test asserts the exit status, the one error line
// `emopipe: FILE: what happened (what to do)`, that no temporary file is left and that no partial output exists.
import Foundation
import Testing
import TestSupport

enum Faults {
    static let bin = TestPaths.emopipeBinary.path

    static func model() throws -> String { try SyntheticModels.shared.folder(head: "rjca") }

    /// A crop folder of two frames: the cheapest complete run (two clips through the real backbones).
    static func tinyCrops(in dir: URL, name: String = "crops") throws -> String {
        let folder = dir.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for f in ["00001.jpg", "00002.jpg"] {
            try FileManager.default.copyItem(atPath: TestPaths.fixture("cropped_aligned/clip/" + f), toPath: folder.appendingPathComponent(f).path)
        }
        return folder.path
    }

    /// Runs `script` with bash, `$1`… being `arguments`: for redirections, limits and pipes.
    static func bash(_ script: String, _ arguments: [String], timeout: TimeInterval = 300) throws -> CommandResult {
        try runCommand("/bin/bash", ["-c", script, "fault"] + arguments, timeout: timeout)
    }

    /// stderr without warnings and `faces`' report: what must be the one error line.
    static func errorLines(_ r: CommandResult) -> [String] {
        r.stderr.split(separator: "\n").map(String.init).filter { !$0.hasPrefix("warning: ") && !$0.hasPrefix("faces: ") }
    }

    /// Exit status `status`, no crash, and exactly one error line: `emopipe: FILE: …says… (…)`.
    static func expectOneLine(_ r: CommandResult, status: Int32 = 1, file: String, says: String,
                              sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(r.status == status && !r.crashed, "status \(r.status): \(r.stderr)", sourceLocation: sourceLocation)
        let lines = errorLines(r)
        #expect(lines.count == 1, "stderr: \(r.stderr)", sourceLocation: sourceLocation)
        guard let line = lines.first else { return }
        #expect(line.hasPrefix("emopipe: \(file): ") && line.contains(says) && line.hasSuffix(")"), "line: \(line)", sourceLocation: sourceLocation)
        #expect(!line.contains("Error Domain"), sourceLocation: sourceLocation)
    }

    /// Temporary files (`.NAME.tmp-PID`) anywhere below `dir`.
    static func temporaries(in dir: URL) -> [String] {
        let all = FileManager.default.enumerator(atPath: dir.path)?.allObjects as? [String] ?? []
        return all.filter { $0.contains(".tmp-") }
    }

    static func contents(_ dir: URL) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []).sorted()
    }
}

/// Fault 1: writes that fail.
@Suite(.serialized) struct FailedWriteTests {
    @Test func stdoutOnAFullDevice() throws {
        let dir = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try Faults.bash(#""$1" "$2" --model "$3" -q >/dev/full"#, [Faults.bin, try Faults.tinyCrops(in: dir), try Faults.model()])
        Faults.expectOneLine(r, file: "stdout", says: "cannot write (No space left on device)")
    }

    @Test func outputFileOnAFullDevice() throws {
        let dir = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try runCommand(Faults.bin, [try Faults.tinyCrops(in: dir), "--model", try Faults.model(), "-q", "-o", "/dev/full"])
        Faults.expectOneLine(r, file: "/dev/full", says: "cannot write (No space left on device)")
        #expect(r.stdout.isEmpty)
    }

    @Test func closedStdout() throws {
        let dir = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try Faults.bash(#""$1" "$2" --model "$3" -q >&-"#, [Faults.bin, try Faults.tinyCrops(in: dir), try Faults.model()])
        Faults.expectOneLine(r, file: "stdout", says: "cannot write (Bad file descriptor)")
    }

    /// With stderr closed the rows are still complete (a file opened later never takes descriptor 2), and the exit
    /// status says that the messages (here: the synthetic-weights warning) were lost.
    @Test func closedStderr() throws {
        let dir = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("va.csv")
        let r = try Faults.bash(#""$1" "$2" --model "$3" -q -o "$4" 2>&-"#,
                                [Faults.bin, try Faults.tinyCrops(in: dir), try Faults.model(), out.path])
        #expect(r.status == 1 && !r.crashed)
        let lines = try String(contentsOf: out, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 3 && lines[0] == "frame,time,face,valence,arousal")
        #expect(Faults.temporaries(in: dir).isEmpty)
    }

    /// `emopipe … | head`: the reader is gone before the rows come; the run ends quietly.
    @Test func readerClosingThePipeEndsQuietly() throws {
        let dir = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let err = dir.appendingPathComponent("stderr").path
        let r = try Faults.bash(#""$1" "$2" --model "$3" -q 2>"$4" | true; echo "${PIPESTATUS[0]}""#,
                                [Faults.bin, try Faults.tinyCrops(in: dir), try Faults.model(), err])
        #expect(r.stdoutText == "0\n")
        let stderr = try String(contentsOfFile: err, encoding: .utf8)
        #expect(!stderr.split(separator: "\n").contains { $0.hasPrefix("emopipe:") }, "\(stderr)")
    }
}

/// Fault 5: `-o` naming special files, and the input.
@Suite(.serialized) struct SpecialOutputTests {
    @Test func symbolicLinkIsWrittenThroughAtomically() throws {
        let dir = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let real = dir.appendingPathComponent("real")
        try FileManager.default.createDirectory(at: real, withIntermediateDirectories: true)
        let target = real.appendingPathComponent("target.csv"), link = dir.appendingPathComponent("link.csv")
        try "old\n".write(to: target, atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: link.path, withDestinationPath: "real/target.csv")
        let dangling = dir.appendingPathComponent("new.csv")
        try FileManager.default.createSymbolicLink(atPath: dangling.path, withDestinationPath: "real/created.csv")
        let crops = try Faults.tinyCrops(in: dir)
        for out in [link, dangling] {
            let r = try runCommand(Faults.bin, [crops, "--model", try Faults.model(), "-q", "-o", out.path])
            #expect(r.status == 0, "\(r.stderr)")
            #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: out.path)) != nil, "the link stays a link")
        }
        for file in [target, real.appendingPathComponent("created.csv")] {
            let lines = try String(contentsOf: file, encoding: .utf8).split(separator: "\n")
            #expect(lines.count == 3 && lines[0] == "frame,time,face,valence,arousal")
        }
        #expect(Faults.temporaries(in: dir).isEmpty)
    }

    @Test func fifoIsWrittenDirectlyAndOneWithoutReaderIsRefused() throws {
        let dir = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let fifo = dir.appendingPathComponent("rows.fifo").path, copy = dir.appendingPathComponent("copy.csv").path
        #expect(mkfifo(fifo, 0o600) == 0)
        let crops = try Faults.tinyCrops(in: dir)
        let alone = try runCommand(Faults.bin, [crops, "--model", try Faults.model(), "-q", "-o", fifo], timeout: 60)
        Faults.expectOneLine(alone, file: fifo, says: "nobody reads this FIFO")
        let r = try Faults.bash(#"cat "$5" > "$6" & sleep 0.5; "$1" "$2" --model "$3" -q -o "$4"; status=$?; wait; exit $status"#,
                                [Faults.bin, crops, try Faults.model(), fifo, fifo, copy])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try String(contentsOfFile: copy, encoding: .utf8).split(separator: "\n").count == 3)
    }

    @Test func characterDeviceIsWrittenDirectly() throws {
        let dir = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try runCommand(Faults.bin, [try Faults.tinyCrops(in: dir), "--model", try Faults.model(), "-q", "-o", "/dev/null"])
        #expect(r.status == 0 && r.stdout.isEmpty, "\(r.stderr)")
        #expect(FileManager.default.fileExists(atPath: "/dev/null"))
    }

    /// `-o` naming the input (directly, through a link, or the crop folder's audio) is refused before any work.
    @Test func outputNamingTheInputIsRefused() throws {
        let dir = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let video = dir.appendingPathComponent("v.mp4").path, alias = dir.appendingPathComponent("alias.mp4").path
        try FileManager.default.copyItem(atPath: TestPaths.fixture("media/noaudio.mp4"), toPath: video)
        try FileManager.default.createSymbolicLink(atPath: alias, withDestinationPath: "v.mp4")
        let before = try Data(contentsOf: URL(fileURLWithPath: video))
        let crops = try Faults.tinyCrops(in: dir)
        for out in [video, alias] {
            let r = try runCommand(Faults.bin, [video, "--model", try Faults.model(), "-q", "-o", out])
            Faults.expectOneLine(r, file: out, says: "is the input")
            let plot = try runCommand(Faults.bin, [video, "--model", try Faults.model(), "-q", "--plot", out])
            Faults.expectOneLine(plot, file: out, says: "is the input")
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: video)) == before)
        let audio = dir.appendingPathComponent("a.m4a").path
        try FileManager.default.copyItem(atPath: TestPaths.fixture("media/audio_only.m4a"), toPath: audio)
        let r = try runCommand(Faults.bin, [crops, "--audio", audio, "--model", try Faults.model(), "-q", "-o", audio])
        Faults.expectOneLine(r, file: audio, says: "is the input")
        let folder = try runCommand(Faults.bin, [crops, "--model", try Faults.model(), "-q", "-o", dir.path])
        Faults.expectOneLine(folder, file: dir.path, says: "is a folder")
        #expect(Faults.temporaries(in: dir).isEmpty)
    }
}

/// Fault 7: interrupted runs.
@Suite(.serialized) struct InterruptedRunTests {
    @Test(arguments: [SIGINT, SIGTERM]) func signalRemovesTheTemporaryFile(signal: Int32) throws {
        let dir = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("va.csv").path
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Faults.bin)
        p.arguments = [TestPaths.fixture("media/noaudio.mp4"), "--model", try Faults.model(), "-q", "-o", out]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        let temporary = dir.appendingPathComponent(".va.csv.tmp-\(p.processIdentifier)").path
        let deadline = Date().addingTimeInterval(120)
        while !FileManager.default.fileExists(atPath: temporary) && p.isRunning && Date() < deadline { usleep(5_000) }
        try #require(FileManager.default.fileExists(atPath: temporary), "the run made no temporary file")
        kill(p.processIdentifier, signal)
        p.waitUntilExit()
        #expect(p.terminationReason == .uncaughtSignal && p.terminationStatus == signal)
        #expect(Faults.contents(dir).isEmpty, "left: \(Faults.contents(dir))")
    }

    /// `batch` removes the temporary files of processes that no longer exist, and only those.
    @Test func batchRemovesStaleTemporaries() throws {
        let dir = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let inputs = dir.appendingPathComponent("in"), outputs = dir.appendingPathComponent("out")
        try FileManager.default.createDirectory(at: inputs, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: outputs, withIntermediateDirectories: true)
        _ = try Faults.tinyCrops(in: inputs, name: "clip")
        let gone = Process()
        gone.executableURL = URL(fileURLWithPath: "/bin/true")
        try gone.run()
        gone.waitUntilExit()
        let stale = outputs.appendingPathComponent(".clip.txt.tmp-\(gone.processIdentifier)").path
        let alive = outputs.appendingPathComponent(".other.txt.tmp-\(getpid())").path
        for f in [stale, alive] { try "partial".write(toFile: f, atomically: false, encoding: .utf8) }
        let r = try runCommand(Faults.bin, ["batch", inputs.path, outputs.path, "--model", try Faults.model()])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("removed 1 temporary file"))
        #expect(Faults.contents(outputs) == [".other.txt.tmp-\(getpid())", "clip.txt"])
    }

    /// `--plot` and `-o` are written together or not at all: either failing leaves neither.
    @Test func plotAndRowsTogetherOrNotAtAll() throws {
        let dir = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("va.csv").path, svg = dir.appendingPathComponent("va.svg").path
        let crops = try Faults.tinyCrops(in: dir)
        // A file size limit of 1 KiB: the rows fit, the SVG does not.
        let big = try Faults.bash(#"ulimit -f 1; exec "$1" "$2" --model "$3" -q -o "$4" --plot "$5""#,
                                  [Faults.bin, crops, try Faults.model(), out, svg])
        Faults.expectOneLine(big, file: svg, says: "cannot write (File too large)")
        // The rows failing: no plot either.
        let full = try runCommand(Faults.bin, [crops, "--model", try Faults.model(), "-q", "-o", "/dev/full", "--plot", svg])
        Faults.expectOneLine(full, file: "/dev/full", says: "No space left on device")
        #expect(Faults.contents(dir) == ["crops"])
    }
}

/// Fault 8: `batch` inputs that would write the same output, and OUT inside IN.
@Suite(.serialized) struct BatchNameTests {
    @Test(arguments: [["a.mp4", "a.mkv"], ["a/", "a.mp4"]]) func clashingNamesAreRefusedBeforeAnyWork(names: [String]) throws {
        let dir = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let inputs = dir.appendingPathComponent("in"), outputs = dir.appendingPathComponent("out")
        try FileManager.default.createDirectory(at: inputs, withIntermediateDirectories: true)
        for name in names {
            if name.hasSuffix("/") { _ = try Faults.tinyCrops(in: inputs, name: String(name.dropLast())) }
            else { try FileManager.default.copyItem(atPath: TestPaths.fixture("media/noaudio.mp4"), toPath: inputs.appendingPathComponent(name).path) }
        }
        let r = try runCommand(Faults.bin, ["batch", inputs.path, outputs.path, "--model", try Faults.model()])
        Faults.expectOneLine(r, file: inputs.path, says: "would both write \(outputs.path)/a.txt")
        #expect(r.stderr.contains(names[0]) && r.stderr.contains(names[1]))
        #expect(!FileManager.default.fileExists(atPath: outputs.path))
    }

    @Test func outputsInsideInputsWorkOnReruns() throws {
        let dir = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        _ = try Faults.tinyCrops(in: dir, name: "clip")
        let outputs = dir.appendingPathComponent("out").path
        let first = try runCommand(Faults.bin, ["batch", dir.path, outputs, "--model", try Faults.model()])
        #expect(first.status == 0 && first.stderr.contains("1 done, 0 skipped, 0 failed"), "\(first.stderr)")
        let again = try runCommand(Faults.bin, ["batch", dir.path, outputs, "--model", try Faults.model()])
        #expect(again.status == 0 && again.stderr.contains("0 done, 1 skipped, 0 failed"), "\(again.stderr)")
        let redo = try runCommand(Faults.bin, ["batch", dir.path, outputs, "--model", try Faults.model(), "--overwrite"])
        #expect(redo.status == 0 && redo.stderr.contains("1 done, 0 skipped, 0 failed"), "\(redo.stderr)")
    }

    /// A write failing for one input (its output is a link to a full device) fails that input only.
    @Test func batchGoesOnAfterAFailedWrite() throws {
        let dir = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let inputs = dir.appendingPathComponent("in"), outputs = dir.appendingPathComponent("out")
        for name in ["a", "b"] { _ = try Faults.tinyCrops(in: inputs, name: name) }
        try FileManager.default.createDirectory(at: outputs, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: outputs.appendingPathComponent("a.txt").path, withDestinationPath: "/dev/full")
        let r = try runCommand(Faults.bin, ["batch", inputs.path, outputs.path, "--model", try Faults.model(), "--overwrite"])
        #expect(r.status == 1 && !r.crashed)
        let errors = r.stderr.split(separator: "\n").filter { $0.hasPrefix("emopipe: ") && !$0.hasPrefix("emopipe batch") }
        #expect(errors == ["emopipe: \(outputs.path)/a.txt: cannot write (No space left on device) (free some space, or write somewhere else)"])
        #expect(r.stderr.contains("1 done, 0 skipped, 1 failed"))
        #expect(try String(contentsOfFile: outputs.appendingPathComponent("b.txt").path, encoding: .utf8).split(separator: "\n").count == 3)
        #expect(Faults.temporaries(in: dir).isEmpty)
    }

    @Test func outputsThatCannotBeCreatedAreOneLine() throws {
        let dir = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        _ = try Faults.tinyCrops(in: dir, name: "clip")
        let file = dir.appendingPathComponent("file.txt")
        try "x".write(to: file, atomically: true, encoding: .utf8)
        let r = try runCommand(Faults.bin, ["batch", dir.path, file.appendingPathComponent("sub").path, "--model", try Faults.model()])
        Faults.expectOneLine(r, file: file.appendingPathComponent("sub").path, says: "cannot be created")
    }
}

/// Fault 9: `eval` never scores a silent subset.
@Suite struct EvalFaultTests {
    @Test func missingPredictionsAndDuplicateFiles() throws {
        let dir = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let preds = dir.appendingPathComponent("pred"), anns = dir.appendingPathComponent("ann")
        for d in [preds, anns] { try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true) }
        let series = "valence,arousal\n0.1,0.2\n-0.3,0.5\n0.7,-0.1\n"
        for (d, n) in [(preds, "a.txt"), (anns, "a.txt"), (anns, "b.txt")] {
            try series.write(to: d.appendingPathComponent(n), atomically: true, encoding: .utf8)
        }
        let missing = try runCommand(Faults.bin, ["eval", preds.path, anns.path])
        Faults.expectOneLine(missing, file: preds.path, says: "no predictions for 1 annotated video(s): b")
        #expect(missing.stdout.isEmpty)
        let allowed = try runCommand(Faults.bin, ["eval", preds.path, anns.path, "--allow-missing"])
        #expect(allowed.status == 0 && allowed.stderr.contains("left out: b"))
        let j = try JSONSerialization.jsonObject(with: allowed.stdout) as! [String: Any]
        #expect(j["videos_without_predictions"] as? [String] == ["b"])
        try series.write(to: preds.appendingPathComponent("a.csv"), atomically: true, encoding: .utf8)
        let twice = try runCommand(Faults.bin, ["eval", preds.path, anns.path, "--allow-missing"])
        Faults.expectOneLine(twice, file: preds.path, says: "a.csv and a.txt are both for video a")
    }
}

/// Fault 10: odd numbers and names.
@Suite(.serialized) struct ArgumentFaultTests {
    /// Thread counts past Int32, negative numbers and non-numbers: usage errors (64, usage text), never a crash,
    /// and a negative number is read as a number, not as a missing value.
    @Test(arguments: [
        (["--threads", "2147483648"], "--threads must be between 1 and"),
        (["--threads", "9223372036854775807"], "--threads must be between 1 and"),
        (["--threads", "99999999999999999999"], "--threads"),
        (["--threads", "-1"], "--threads must be between 1 and"),
        (["--threads", "0"], "--threads must be between 1 and"),
        (["--fps", "-5"], "--fps must be between"),
        (["--fps", "1e-300"], "--fps must be between"),
        (["--subject", "middle"], "--subject"),
        (["--head", "nohead"], "--head"),
        (["--format", "xml"], "--format"),
    ]) func usageErrors(arguments: [String], says: String) throws {
        let r = try runCommand(Faults.bin, [TestPaths.fixture("cropped_aligned/clip"), "--model", try Faults.model()] + arguments)
        #expect(r.status == 64 && !r.crashed, "\(r.stderr)")
        #expect(r.stderr.contains(says) && r.stderr.contains("Usage:") && !r.stderr.contains("Missing value"), "\(r.stderr)")
        #expect(r.stdout.isEmpty)
    }

    @Test(arguments: [["faces", "--detect-every", "-2"], ["batch", "in", "out", "--threads", "-4"], ["tensor", "head", "--head", "ca",
        "--synthetic-weights", "--input", "x", "--output", "y", "--repeat", "-1"]])
    func negativeNumbersOfOtherCommands(arguments: [String]) throws {
        let r = try runCommand(Faults.bin, arguments.first == "faces" ? arguments + [TestPaths.fixture("media/noaudio.mp4")] : arguments)
        #expect(r.status == 64 && !r.crashed && r.stderr.contains("must be") && !r.stderr.contains("Missing value"), "\(r.stderr)")
    }

    @Test func missingModelFolderIsNamedAsSuch() throws {
        let r = try runCommand(Faults.bin, [TestPaths.fixture("cropped_aligned/clip"), "--model", "/nonexistent/model"])
        Faults.expectOneLine(r, file: "/nonexistent/model", says: "no such model folder")
    }

    /// `--subject 7` on a video with one face: says that track 7 does not exist and which tracks do; no output.
    @Test(.enabled(if: FacesCLI.modelsPresent && FacesCLI.evalDirectory != nil)) func subjectTrackThatDoesNotExist() throws {
        let dir = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let video = dir.appendingPathComponent("one.mp4").path
        try FacesCLI.ffmpeg(["-loop", "1", "-i", FacesCLI.evalDirectory! + "/grace_hopper__orig.ppm", "-t", "0.4", "-r", "10",
                             "-vf", "scale=320:-2,format=yuv420p", video])
        let faces = try runCommand(Faults.bin, ["faces", video, "--subject", "7"])
        Faults.expectOneLine(faces, file: video, says: "there is no face track 7; the tracks are #1 (frames 1–")
        let out = dir.appendingPathComponent("va.csv").path
        let r = try runCommand(Faults.bin, [video, "--subject", "7", "--model", try Faults.model(), "-q", "-o", out])
        Faults.expectOneLine(r, file: video, says: "there is no face track 7; the tracks are #1 (frames 1–")
        #expect(Faults.contents(dir) == ["one.mp4"])
    }
}

/// Fault 6's memory bound, end to end: a video read once (frames and audio from one demuxer) whose audio lies too far
/// from its frames in the file gives that audio up rather than holding the frames between; the run still makes every
/// row and says so in a warning naming the input and the fix, at exit 0.
@Suite struct AudioGivenUpTests {
    @Test func audioTooFarFromTheFramesIsAWarning() throws {
        let dir = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let video = dir.appendingPathComponent("far_audio.mkv").path
        // Four frames, at 0, 5, 10 and 75 s; the audio's first packet at 80 s: looking for it holds more than 60 s of
        // video. Four frames keep the run cheap.
        try fixtureFFmpeg(["-f", "lavfi", "-i", "testsrc=size=64x48:rate=1/5:duration=20", "-itsoffset", "80", "-f", "lavfi",
                           "-i", "sine=duration=2", "-vf", "setpts='if(lt(N,3),N*5,75)/TB'", "-fps_mode", "passthrough",
                           "-c:v", "mpeg4", "-c:a", "aac", video])
        // The clean protocol reads a video once, frames and audio from one demuxer (the official one reads the
        // container's timestamps and the audio on their own first, as the official preparation does).
        let r = try runCommand(Faults.bin, [video, "--model", try Faults.model(), "-q", "--protocol", "clean"])
        #expect(r.status == 0 && !r.crashed, "\(r.stderr)")
        #expect(r.stdoutText.split(separator: "\n").count == 5, "\(r.stdoutText)")
        let warning = r.stderr.split(separator: "\n").first { $0.contains("audio packet(s) lay too far from the video") }
        #expect(warning?.hasPrefix("warning: \(video): ") == true && warning?.hasSuffix(")") == true, "\(r.stderr)")
    }
}
