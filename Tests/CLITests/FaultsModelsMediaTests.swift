// Faults of issue 13 on the numeric/media side, end to end through the binary: each is a clean failure — exit
// status 1, nothing on stdout, one line `emopipe: FILE: what happened (what to do)` — or, for pipes and FIFOs, a
// normal run. Inputs that need making (damaged weights, a timestamp jump, an MP4 with its index last) are made here.
import Foundation
import Kernels
import Testing
import TestSupport

/// A copy of the synthetic model folder of `head` in which `file` (tsav.safetensors or head_HEAD.safetensors) has its
/// items passed through `change`.
func modelVariant(_ head: String, _ file: String, _ change: (inout [SafeTensorsWriter.Item]) -> Void) throws -> String {
    let source = try SyntheticModels.shared.folder(head: head)
    let dir = TestPaths.temporaryDirectory("emopipe-fault-variant").path
    for name in try FileManager.default.contentsOfDirectory(atPath: source) {
        try FileManager.default.copyItem(atPath: source + "/" + name, toPath: dir + "/" + name)
    }
    let original = try SafeTensorsFile(path: dir + "/" + file)
    var w = SafeTensorsWriter(metadata: original.metadata)
    w.items = try original.names.map { name in
        let e = original.entries[name]!
        return SafeTensorsWriter.Item(name: name, dtype: e.dtype, shape: e.shape, bytes: try original.rawBytes(name))
    }
    change(&w.items)
    try w.write(to: dir + "/" + file)
    return dir
}

/// The failure contract: exit status 1, no crash, nothing on stdout, and exactly one line on stderr besides warnings,
/// `emopipe: FILE: what happened (what to do)`, that says `says`.
func expectCleanFailure(_ r: CommandResult, file: String, says: String, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(r.status == 1 && !r.crashed, "status \(r.status): \(r.stderr)", sourceLocation: sourceLocation)
    #expect(r.stdout.isEmpty, "rows were written: \(r.stdoutText.prefix(200))", sourceLocation: sourceLocation)
    let lines = r.stderr.split(separator: "\n").map(String.init).filter { !$0.contains("warning:") }
    #expect(lines.count == 1, "\(lines)", sourceLocation: sourceLocation)
    guard let line = lines.first else { return }
    #expect(line.hasPrefix("emopipe: "), "\(line)", sourceLocation: sourceLocation)
    let message = String(line.dropFirst("emopipe: ".count))
    #expect(message.hasPrefix(file + ": "), "\(line)", sourceLocation: sourceLocation)
    #expect(message.contains(" (") && message.hasSuffix(")"), "no fix in: \(line)", sourceLocation: sourceLocation)
    #expect(message.contains(says), "\(line)", sourceLocation: sourceLocation)
}

/// A 12-frame 96×72 video with a second of audio (Matroska, MPEG-4 part 2 + AAC), made once per test process:
/// runs through the whole pipeline cost seconds, not minutes.
final class TinyVideo: @unchecked Sendable {
    static let shared = TinyVideo()
    private let lock = NSLock()
    private var made: String?

    var path: String {
        get throws {
            lock.lock(); defer { lock.unlock() }
            if let made { return made }
            let p = TestPaths.temporaryDirectory("emopipe-tiny-video").appendingPathComponent("tiny.mkv").path
            try fixtureFFmpeg(["-f", "lavfi", "-i", "testsrc=size=96x72:rate=10:duration=1.2", "-f", "lavfi", "-i", "sine=duration=1.2",
                               "-c:v", "mpeg4", "-c:a", "aac", p])
            made = p
            return p
        }
    }
}

func fixtureFFmpeg(_ args: [String]) throws {
    let r = try runCommand("/usr/bin/ffmpeg", ["-nostdin", "-loglevel", "error", "-y"] + args)
    guard r.status == 0 else { throw SafeTensorsError("ffmpeg failed: \(r.stderr)") }
}

/// `item` with every float32 value replaced by `value` where `where` says so.
func filled(_ item: SafeTensorsWriter.Item, _ value: Float, where pick: (Int) -> Bool = { _ in true }) -> SafeTensorsWriter.Item {
    var t = [Float](repeating: 0, count: item.bytes.count / 4)
    item.bytes.withUnsafeBytes { raw in for i in t.indices { t[i] = Float(bitPattern: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)) } }
    for i in t.indices where pick(i) { t[i] = value }
    return SafeTensorsWriter.Item(item.name, Tensor(shape: item.shape, values: t))
}

func replace(_ name: String, in items: inout [SafeTensorsWriter.Item], _ make: (SafeTensorsWriter.Item) -> SafeTensorsWriter.Item) {
    let i = items.firstIndex { $0.name == name }!
    items[i] = make(items[i])
}

@Suite(.serialized) struct FaultsModelsMediaTests {
    let bin = TestPaths.emopipeBinary.path
    var video: String { get throws { try TinyVideo.shared.path } }

    // MARK: fault 2 — huge timestamps

    @Test func videoWithATimestampJumpIsRefused() throws {
        let dir = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let jump = dir.appendingPathComponent("jump.mkv").path
        // Frames 6… stamped 10¹⁵ s (10¹⁸ ms) after frame 5: the audio window's sample index used to overflow.
        try fixtureFFmpeg(["-i", try video, "-c", "copy", "-bsf:v", "setts=ts=if(gte(N\\,5)\\,1e18+256*N\\,256*N):time_base=1/1000", jump])
        let r = try runCommand(bin, [jump, "--model", try SyntheticModels.shared.folder(head: "jca"), "-q"])
        expectCleanFailure(r, file: jump, says: "frame 6 is stamped")
    }

    @Test func cropFolderAtAnAbsurdFrameRateIsRefused() throws {
        // The CLI refuses it as a usage error; the library refuses it too. Either way: no crash, no rows.
        let r = try runCommand(bin, [TestPaths.fixture("cropped_aligned/clip"), "--fps", "1e-300", "--model", try SyntheticModels.shared.folder(head: "jca"), "-q"])
        #expect(r.status != 0 && !r.crashed && r.stdout.isEmpty, "\(r.status): \(r.stderr)")
        #expect(r.stderr.contains("1e-300"), "\(r.stderr)")
    }

    // MARK: fault 3 — non-finite numbers

    @Test func nanInTheBackbonesIsNamed() throws {
        let name = "video_model.r2plus1d.layer2.0.conv1.0.0.weight"
        let model = try modelVariant("jca", "tsav.safetensors") { replace(name, in: &$0) { filled($0, .nan) { $0 == 7 } } }
        defer { try? FileManager.default.removeItem(atPath: model) }
        let r = try runCommand(bin, [try video, "--model", model, "-q"])
        expectCleanFailure(r, file: model + "/tsav.safetensors", says: "tensor \(name) holds a value that is not a finite float32")
    }

    @Test func infinityInTheHeadIsNamed() throws {
        let name = "Joint.rnn.weight_hh_l1_reverse"
        let model = try modelVariant("jca", "head_jca.safetensors") { replace(name, in: &$0) { filled($0, -.infinity) { $0 == 0 } } }
        defer { try? FileManager.default.removeItem(atPath: model) }
        let r = try runCommand(bin, [try video, "--model", model, "-q"])
        expectCleanFailure(r, file: model + "/head_jca.safetensors", says: "tensor \(name) holds a value that is not a finite float32")
    }

    /// Finite weights whose forward overflows: the valence is +Inf. It must be an error, never a row (clipping would
    /// have made it 1, or a NaN −1, with exit status 0).
    @Test func nonFiniteOutputIsAnErrorNotARow() throws {
        let model = try modelVariant("jca", "head_jca.safetensors") { items in
            replace("vregressor.0.bias", in: &items) { filled($0, 3e38) }    // every hidden unit 3e38 (finite)
            replace("vregressor.3.weight", in: &items) { filled($0, 1) }     // their sum: +Inf
        }
        defer { try? FileManager.default.removeItem(atPath: model) }
        let r = try runCommand(bin, [try video, "--model", model, "-q"])
        expectCleanFailure(r, file: model + "/head_jca.safetensors", says: "valence output is not a finite number")
    }

    // MARK: fault 4 — wrong dtypes

    @Test func integerBackboneTensorIsRefused() throws {
        let name = "audio_model.resnet.layer3.1.conv2.weight"
        let model = try modelVariant("jca", "tsav.safetensors") { items in
            replace(name, in: &items) { item in
                // The same bytes declared I32: they used to be read as integers and turned into floats.
                SafeTensorsWriter.Item(name: item.name, dtype: .i32, shape: item.shape, bytes: item.bytes)
            }
        }
        defer { try? FileManager.default.removeItem(atPath: model) }
        let r = try runCommand(bin, [try video, "--model", model, "-q"])
        expectCleanFailure(r, file: model + "/tsav.safetensors", says: "tensor \(name) is I32, expected a float type")
    }

    // MARK: fault 10 (part) — empty tensors

    @Test func allEmptyHeadTensorsAreRefusedForTheirShape() throws {
        let model = try modelVariant("jca", "head_jca.safetensors") { items in
            items = items.map { SafeTensorsWriter.Item(name: $0.name, dtype: $0.dtype, shape: $0.shape + [0], bytes: []) }
        }
        defer { try? FileManager.default.removeItem(atPath: model) }
        let r = try runCommand(bin, [try video, "--model", model, "-q"])
        expectCleanFailure(r, file: model + "/head_jca.safetensors", says: "tensor coattn.dcn_layers.0.dense_coattn.query_linear.weight has shape (1024,1024,0), expected (1024,1024)")
    }

    // MARK: fault 6 — FIFO and pipe input

    /// `cat VIDEO | emopipe -`: the same rows as from the file (its audio included: one read of stdin serves both).
    @Test func standardInputGivesTheSameRowsAsTheFile() throws {
        let model = try SyntheticModels.shared.folder(head: "jca")
        let fromFile = try runCommand(bin, [try video, "--model", model, "-q"])
        #expect(fromFile.status == 0, "\(fromFile.stderr)")
        let fromPipe = try runCommand(bin, ["-", "--model", model, "-q"], input: try Data(contentsOf: URL(fileURLWithPath: try video)))
        #expect(fromPipe.status == 0 && !fromPipe.crashed, "\(fromPipe.stderr)")
        #expect(!fromPipe.stderr.contains("no audio"), "\(fromPipe.stderr)")
        #expect(fromPipe.stdoutText.split(separator: "\n").count == 13 && fromPipe.stdout == fromFile.stdout)
    }

    @Test func fifoInputWorks() throws {
        let dir = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let fifo = dir.appendingPathComponent("input.mkv").path
        #expect(mkfifo(fifo, 0o600) == 0)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: try video))
        let writer = Thread {
            guard let h = FileHandle(forWritingAtPath: fifo) else { return }
            try? h.write(contentsOf: bytes)
            try? h.close()
        }
        writer.start()
        let model = try SyntheticModels.shared.folder(head: "jca")
        let r = try runCommand(bin, [fifo, "--model", model, "-q"], timeout: 300)
        #expect(r.status == 0 && !r.crashed, "\(r.stderr)")
        #expect(!r.stderr.contains("no audio"), "\(r.stderr)")
        let fromFile = try runCommand(bin, [try video, "--model", model, "-q"])
        #expect(!r.stdout.isEmpty && r.stdout == fromFile.stdout)
    }

    @Test func mp4WithItsIndexLastCannotComeFromAPipe() throws {
        let dir = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let late = dir.appendingPathComponent("late.mp4").path
        try fixtureFFmpeg(["-f", "lavfi", "-i", "testsrc=size=320x240:rate=25:duration=2", "-c:v", "mpeg4", "-q:v", "2", late])
        // --protocol clean reads the pipe once; the official protocol (the default) copies a pipe to a temporary
        // file first (it reads the container's timestamps before the frames), so it reads this file too.
        let r = try runCommand(bin, ["-", "--model", try SyntheticModels.shared.folder(head: "jca"), "-q", "--protocol", "clean"],
                               input: try Data(contentsOf: URL(fileURLWithPath: late)))
        expectCleanFailure(r, file: "-", says: "whose index (moov) comes after its data cannot be read from a pipe")
    }
}
