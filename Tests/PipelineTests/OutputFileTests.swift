import Foundation
import Pipeline
import Testing
import TestSupport

@Suite struct OutputFileTests {
    func text(_ path: String) -> String? { try? String(contentsOfFile: path, encoding: .utf8) }

    @Test func regularFileIsReplacedOnlyOnCommitAndKeepsItsPermissions() throws {
        let dir = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("rows.csv").path
        try "old\n".write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o640)
        let file = try OutputFile(path: path)
        #expect(file.temporary == dir.appendingPathComponent(".rows.csv.tmp-\(getpid())").path)
        try file.write("new\n")
        #expect(text(path) == "old\n")
        try file.commit()
        #expect(text(path) == "new\n")
        var st = stat()
        stat(path, &st)
        #expect(st.st_mode & 0o777 == 0o640)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["rows.csv"])

        let abandoned = try OutputFile(path: path)
        try abandoned.write("never\n")
        abandoned.abandon()
        #expect(text(path) == "new\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["rows.csv"])
    }

    @Test func linksAreWrittenThroughAndSpecialFilesHandled() throws {
        let dir = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let sub = dir.appendingPathComponent("sub")
        try FileManager.default.createDirectory(at: sub, withIntermediateDirectories: true)
        let link = dir.appendingPathComponent("link").path, dangling = dir.appendingPathComponent("dangling").path
        try "x".write(toFile: sub.appendingPathComponent("target").path, atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: "sub/target")
        try FileManager.default.createSymbolicLink(atPath: dangling, withDestinationPath: "sub/new")
        for (path, target) in [(link, "target"), (dangling, "new")] {
            let f = try OutputFile(path: path)
            #expect(f.target.hasSuffix("sub/" + target) && f.temporary!.hasPrefix(sub.path))
            try f.write("through\n")
            try f.commit()
            #expect(text(sub.appendingPathComponent(target).path) == "through\n")
            #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: path)) != nil)
        }
        let null = try OutputFile(path: "/dev/null")
        #expect(null.temporary == nil)
        try null.write("gone")
        try null.commit()
        let fifo = dir.appendingPathComponent("fifo").path
        #expect(mkfifo(fifo, 0o600) == 0)
        #expect(throws: PipelineError.self) { _ = try OutputFile(path: fifo) }   // nobody reads it
        #expect(throws: PipelineError.self) { _ = try OutputFile(path: dir.path) }
        #expect(throws: PipelineError.self) { _ = try OutputFile(path: dir.appendingPathComponent("no/such/folder/x").path) }
        #expect(throws: PipelineError.self) { _ = try OutputFile(path: link, protecting: [sub.appendingPathComponent("target").path]) }
    }

    @Test func commitTogetherLeavesAllOrNone() throws {
        let dir = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let a = try OutputFile(path: dir.appendingPathComponent("a").path), b = try OutputFile(path: dir.appendingPathComponent("b").path)
        try a.write("a"); try b.write("b")
        try OutputFile.commit(together: [a, b])
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == ["a", "b"])
        // The second one's folder disappears before the commit: the first is not left alone either.
        let sub = dir.appendingPathComponent("sub")
        try FileManager.default.createDirectory(at: sub, withIntermediateDirectories: true)
        let c = try OutputFile(path: dir.appendingPathComponent("c").path), d = try OutputFile(path: sub.appendingPathComponent("d").path)
        try FileManager.default.removeItem(at: sub)
        #expect(throws: PipelineError.self) { try OutputFile.commit(together: [c, d]) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == ["a", "b"])
    }

    @Test func staleTemporariesOfDeadProcessesAreRemoved() throws {
        let dir = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(TemporaryFiles.owner(ofTemporaryName: ".a.txt.tmp-123") == 123)
        #expect(TemporaryFiles.owner(ofTemporaryName: "a.txt.tmp-123") == nil)
        #expect(TemporaryFiles.owner(ofTemporaryName: ".a.txt.tmp-12x") == nil)
        #expect(TemporaryFiles.owner(ofTemporaryName: "..tmp-1") == nil)
        let gone = Process()
        gone.executableURL = URL(fileURLWithPath: "/bin/true")
        try gone.run()
        gone.waitUntilExit()
        for name in [".dead.txt.tmp-\(gone.processIdentifier)", ".mine.txt.tmp-\(getpid())", ".init.txt.tmp-1", "keep.txt"] {
            try "x".write(to: dir.appendingPathComponent(name), atomically: false, encoding: .utf8)
        }
        #expect(TemporaryFiles.removeStale(in: dir.path) == [".dead.txt.tmp-\(gone.processIdentifier)"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == [".init.txt.tmp-1", ".mine.txt.tmp-\(getpid())", "keep.txt"])
    }
}

@Suite struct BatchPlanTests {
    @Test func inputsOutputsAndAudio() throws {
        let dir = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let inputs = dir.appendingPathComponent("in"), audio = dir.appendingPathComponent("audio")
        for d in ["in/v1_left", "in/v1_right", "in/v2", "in/.hidden", "in/out", "audio"] {
            try FileManager.default.createDirectory(at: dir.appendingPathComponent(d), withIntermediateDirectories: true)
        }
        for f in ["in/a.mp4", "in/notes.txt", "audio/v1.wav", "audio/v2.mp4"] {
            try Data().write(to: dir.appendingPathComponent(f))
        }
        let outputs = inputs.appendingPathComponent("out").path
        let items = try BatchPlan.items(inputs: inputs.path, outputs: outputs, outputExtension: "txt", audioFolder: audio.path)
        #expect(items.map(\.name) == ["a", "v1_left", "v1_right", "v2"])
        #expect(items.map(\.kind) == [.video, .cropFolder, .cropFolder, .cropFolder])
        #expect(items.map { $0.audio.map { ($0 as NSString).lastPathComponent } } == [nil, "v1.wav", "v1.wav", "v2.mp4"])
        #expect(items.allSatisfy { $0.output == outputs + "/" + $0.name + ".txt" })
    }

    @Test func clashesAreRefused() throws {
        let dir = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("a"), withIntermediateDirectories: true)
        try Data().write(to: dir.appendingPathComponent("a.mp4"))
        do {
            _ = try BatchPlan.items(inputs: dir.path, outputs: "/tmp/out", outputExtension: "txt", audioFolder: nil)
            Issue.record("no error")
        } catch let e as PipelineError {
            #expect(e.description.contains("a/ and a.mp4 would both write /tmp/out/a.txt"))
        }
    }
}
