import Foundation
import Kernels
import Models

/// How cached features are stored.
public enum FeatureDType: String, CaseIterable, Sendable {
    /// float32: `run --features` gives rows byte-identical to a full run.
    case f32
    /// float16 (IEEE half, rounded to nearest even): half the size, for training; rows of `run --features` then
    /// differ from a full run's in the last digits.
    case f16

    var safetensors: SafeTensorsDType { self == .f32 ? .f32 : .f16 }
    var byteSize: Int { self == .f32 ? 4 : 2 }
}

/// The features cache (`emopipe features`): everything the heads read, per frame, so that any head can run on it
/// later without the backbones (`CachedFeatures`), with rows byte-identical to a full run (float32).
///
/// The driver computes the features exactly as for a run (same clips, windows, spectrogram padding, past-the-end
/// clips, of whatever protocol); this tap takes each complete head batch's input rows before the heads would, and
/// stores them in frame order: row f − 1 holds the clip ending on frame f. The rows of clips past the last frame
/// (only in the last head batch; they fill their sequences, and their outputs are discarded) are stored once per
/// distinct content (the clean protocol's are all one black clip and one silent window) with an index per row. Time,
/// face flag and whether the frame has an output row come with each frame. The file is safetensors
/// (`docs/cli.md` lists its tensors); float32 or float16 features.
///
/// The per-frame tensors go to temporary files beside the output while the input runs (memory stays bounded by one
/// head batch), and are copied after the header into the output, written atomically, at the end.
final class FeatureCacheWriter: HeadBatchTap {
    let output: OutputFile
    let dtype: FeatureDType
    let plan: SequencePlan
    let visualWidth: Int
    let metadata: [String: String]
    /// Per-frame tensors streamed to temporary files: visual rows, their per-channel maxima (layer4 only), audio rows.
    private var streams: [Stream] = []
    private var times: [Double] = [], faces: [UInt8] = [], rows: [UInt8] = []
    /// Clips past the end: their end frames (row order), and indices into the distinct rows below.
    private var pastEndFrames: [Int64] = [], pastEndVisual: [Int64] = [], pastEndAudio: [Int64] = []
    private var distinctVisual: [[Float]] = [], distinctAudio: [[Float]] = []
    private var written = 0
    private var scratch: [Float] = []
    /// The input's frames, whose truncation (if any) the metadata records.
    var source: FrameSource?

    var hasMaxima: Bool { visualWidth == HeadStage.layer4Width }

    init(output: OutputFile, dtype: FeatureDType, plan: SequencePlan, visualWidth: Int, metadata: [String: String]) throws {
        self.output = output
        self.dtype = dtype
        self.plan = plan
        self.visualWidth = visualWidth
        self.metadata = metadata
        let folder = output.temporary.map { ($0 as NSString).deletingLastPathComponent } ?? NSTemporaryDirectory()
        let base = (folder as NSString).appendingPathComponent((output.target as NSString).lastPathComponent)
        for part in ["visual", "visual_max", "audio"] where part != "visual_max" || visualWidth == HeadStage.layer4Width {
            streams.append(try Stream(path: TemporaryFiles.path(for: base + "." + part), name: output.path))
        }
    }

    deinit { abandon() }

    /// Removes the temporary files (the output file is the caller's).
    func abandon() { for s in streams { s.remove() } }

    func frame(_ frame: SourceFrame) {
        times.append(frame.time)
        faces.append(frame.crop != nil ? 1 : 0)
        rows.append(frame.isVideoFrame ? 1 : 0)   // official protocol: the end-time line is a frame without a row
    }

    func batch(_ batch: HeadBatch, inputs: HeadBatchBuffers) throws {
        precondition(inputs.visualWidth == visualWidth, "the cache's visual width")
        // Frames of this batch, in order.
        let first = batch.index * plan.framesPerHeadBatch + 1
        precondition(first == written + 1, "head batches in order")
        for f in first...batch.frameCount {
            let row = plan.slot(ofFrame: f).row
            let visual = inputs.visual.pointer + row * visualWidth
            try streams[0].append(visual, count: visualWidth, dtype: dtype)
            if hasMaxima {
                scratch = [Float](repeating: 0, count: audioFeatureWidth)
                scratch.withUnsafeMutableBufferPointer { HeadStage.channelMaxima(visual, rows: 1, into: $0.baseAddress!) }
                try scratch.withUnsafeBufferPointer { try streams[1].append($0.baseAddress!, count: audioFeatureWidth, dtype: dtype) }
            }
            try streams[streams.count - 1].append(inputs.audio.pointer + row * audioFeatureWidth, count: audioFeatureWidth, dtype: dtype)
            written = f
        }
        for p in batch.pastEnd {
            pastEndFrames.append(Int64(p.frame))
            pastEndVisual.append(Int64(Self.index(of: inputs.visual.pointer + p.row * visualWidth, count: visualWidth, in: &distinctVisual)))
            pastEndAudio.append(Int64(Self.index(of: inputs.audio.pointer + p.row * audioFeatureWidth, count: audioFeatureWidth, in: &distinctAudio)))
        }
    }

    /// The index of a row among the distinct rows kept so far (compared bit for bit), appending it when new.
    private static func index(of row: UnsafePointer<Float>, count: Int, in rows: inout [[Float]]) -> Int {
        let buffer = UnsafeBufferPointer(start: row, count: count)
        if let i = rows.firstIndex(where: { $0.withUnsafeBytes { a in a.elementsEqual(UnsafeRawBufferPointer(buffer)) } }) { return i }
        rows.append(Array(buffer))
        return rows.count - 1
    }

    func finish(frames: Int) throws {
        precondition(written == frames, "every frame's features written")
        var tensors: [(name: String, dtype: SafeTensorsDType, shape: [Int])] = [("visual", dtype.safetensors, [frames, visualWidth])]
        if hasMaxima { tensors.append(("visual_max", dtype.safetensors, [frames, audioFeatureWidth])) }
        tensors += [
            ("audio", dtype.safetensors, [frames, audioFeatureWidth]),
            ("time", .f64, [frames]), ("face", .u8, [frames]), ("row", .u8, [frames]),
            ("past_end_frame", .i64, [pastEndFrames.count]),
            ("past_end_visual_index", .i64, [pastEndVisual.count]),
            ("past_end_audio_index", .i64, [pastEndAudio.count]),
            ("past_end_visual", dtype.safetensors, [distinctVisual.count, visualWidth]),
        ]
        if hasMaxima { tensors.append(("past_end_visual_max", dtype.safetensors, [distinctVisual.count, audioFeatureWidth])) }
        tensors.append(("past_end_audio", dtype.safetensors, [distinctAudio.count, audioFeatureWidth]))

        var meta = metadata
        meta["format"] = CachedFeatures.format
        meta["frames"] = "\(frames)"
        meta["dtype"] = dtype.rawValue
        meta["sequences_per_head_batch"] = "\(plan.sequencesPerHeadBatch)"
        meta["visual"] = hasMaxima ? "layer4" : "width \(visualWidth)"
        if let t = source?.truncationDetail { meta["truncation"] = t }
        try SafeTensorsWriter.header(metadata: meta, tensors: tensors).withUnsafeBytes { try output.write($0) }
        for stream in streams.prefix(hasMaxima ? 2 : 1) { try stream.copy(to: output) }
        try streams[streams.count - 1].copy(to: output)
        try Self.write(times.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) }, to: output)
        try Self.write(faces, to: output)
        try Self.write(rows, to: output)
        for values in [pastEndFrames, pastEndVisual, pastEndAudio] {
            try Self.write(values.flatMap { withUnsafeBytes(of: $0.littleEndian, Array.init) }, to: output)
        }
        for (rows, width) in [(distinctVisual, visualWidth)] + (hasMaxima ? [(distinctVisual.map(Self.maxima), audioFeatureWidth)] : [])
            + [(distinctAudio, audioFeatureWidth)] {
            for r in rows {
                precondition(r.count == width)
                try Self.write(Self.encode(r, dtype), to: output)
            }
        }
        abandon()
    }

    private static func maxima(_ layer4: [Float]) -> [Float] {
        var out = [Float](repeating: 0, count: audioFeatureWidth)
        layer4.withUnsafeBufferPointer { l in out.withUnsafeMutableBufferPointer { HeadStage.channelMaxima(l.baseAddress!, rows: 1, into: $0.baseAddress!) } }
        return out
    }

    private static func write(_ bytes: [UInt8], to output: OutputFile) throws {
        try bytes.withUnsafeBytes { try output.write($0) }
    }

    /// Values as little-endian float32 or float16 bytes.
    static func encode(_ values: UnsafeBufferPointer<Float>, _ dtype: FeatureDType) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: values.count * dtype.byteSize)
        out.withUnsafeMutableBytes { dst in
            switch dtype {
            case .f32: for (i, v) in values.enumerated() { dst.storeBytes(of: v.bitPattern.littleEndian, toByteOffset: 4 * i, as: UInt32.self) }
            case .f16: for (i, v) in values.enumerated() { dst.storeBytes(of: floatToHalf(v).littleEndian, toByteOffset: 2 * i, as: UInt16.self) }
            }
        }
        return out
    }

    static func encode(_ values: [Float], _ dtype: FeatureDType) -> [UInt8] { values.withUnsafeBufferPointer { encode($0, dtype) } }

    /// A temporary file the per-frame rows are appended to (removed on signals, and when done).
    final class Stream {
        let path: String
        let name: String
        private let fd: Int32
        private let slot: Int?
        private var removed = false

        init(path: String, name: String) throws {
            self.path = path
            self.name = name
            slot = TemporaryFiles.register(path)
            fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
            guard fd >= 0 else {
                let code = errno
                TemporaryFiles.unregister(slot)
                throw PipelineError(path, "cannot be created (\(String(cString: strerror(code))))",
                                    remedy: "the features are staged beside \(name): choose a folder you can write to")
            }
        }

        func append(_ values: UnsafePointer<Float>, count: Int, dtype: FeatureDType) throws {
            let bytes = FeatureCacheWriter.encode(UnsafeBufferPointer(start: values, count: count), dtype)
            // Named by the output: the staging file beside it is an implementation detail.
            if let code = bytes.withUnsafeBytes({ writeAll(fd, $0) }) { throw PipelineError.writeFailed(name, errno: code) }
        }

        /// Copies the whole file to `output`, in chunks.
        func copy(to output: OutputFile) throws {
            guard lseek(fd, 0, SEEK_SET) == 0 else { throw PipelineError.writeFailed(path, errno: errno) }
            var chunk = [UInt8](repeating: 0, count: 1 << 22)
            while true {
                let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if n < 0 { if errno == EINTR { continue }; throw PipelineError(path, "cannot be read back (\(String(cString: strerror(errno))))", remedy: "check the disk") }
                if n == 0 { break }
                try chunk.withUnsafeBytes { try output.write(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            }
        }

        func remove() {
            guard !removed else { return }
            removed = true
            close(fd)
            unlink(path)
            TemporaryFiles.unregister(slot)
        }

        deinit { remove() }
    }
}

/// IEEE half of a float, rounded to nearest even (overflow to infinity, NaN kept a NaN).
func floatToHalf(_ f: Float) -> UInt16 {
    let bits = f.bitPattern
    let sign = UInt16((bits >> 16) & 0x8000)
    let exp = Int((bits >> 23) & 0xFF)
    var mant = bits & 0x7F_FFFF
    if exp == 0xFF { return sign | 0x7C00 | (mant != 0 ? 0x200 : 0) }
    var e = exp - 127 + 15
    if e >= 0x1F { return sign | 0x7C00 }
    if e <= 0 {
        // Subnormal half (or zero): the significand with its implicit bit, shifted right, rounded to nearest even.
        if e < -10 { return sign }
        mant |= 0x80_0000
        let shift = UInt32(14 - e)
        let half = UInt32(1) << (shift - 1)
        var m = mant >> shift
        let rest = mant & ((UInt32(1) << shift) - 1)
        if rest > half || (rest == half && m & 1 == 1) { m += 1 }
        return sign | UInt16(m)
    }
    var m = mant >> 13
    let rest = mant & 0x1FFF
    if rest > 0x1000 || (rest == 0x1000 && m & 1 == 1) {
        m += 1
        if m == 0x400 { m = 0; e += 1; if e >= 0x1F { return sign | 0x7C00 } }
    }
    return sign | UInt16(e << 10) | UInt16(m)
}

/// A features cache read back (`emopipe run --features`): heads run on it as on the backbones' output, with the
/// protocol's head batches of the run that made it, so every row is the full run's, to the byte (float32 caches).
public final class CachedFeatures {
    public static let format = "emopipe-features/1"

    public let path: String
    public let file: SafeTensorsFile
    public let frames: Int
    /// Floats per visual row: 25088 (layer4; its per-channel maxima beside it), or another width.
    public let visualWidth: Int
    public let dtype: FeatureDType
    public let plan: SequencePlan
    public let metadata: [String: String]
    public let times: [Double]
    public let faces: [Bool]
    public let hasRow: [Bool]
    private let pastEndFrames: [Int64], pastEndVisual: [Int64], pastEndAudio: [Int64]

    public init(path: String) throws {
        func bad(_ why: String) -> PipelineError {
            PipelineError(path, "is not an emopipe features file: \(why)", remedy: "make one with `emopipe features INPUT -o FILE`")
        }
        let file: SafeTensorsFile
        do { file = try SafeTensorsFile(path: path) } catch {
            guard FileManager.default.fileExists(atPath: path) else { throw PipelineError(path, "no such file", remedy: "check the path") }
            throw bad(OneLine.message(for: error))
        }
        let metadata = file.metadata
        guard metadata["format"] == Self.format else { throw bad("its metadata names format \(metadata["format"] ?? "none"), not \(Self.format)") }
        guard let n = metadata["frames"].flatMap(Int.init), n > 0 else { throw bad("no frame count in its metadata") }
        guard let d = metadata["dtype"].flatMap(FeatureDType.init(rawValue:)) else { throw bad("no dtype in its metadata") }
        guard let s = metadata["sequences_per_head_batch"].flatMap(Int.init), s >= SequencePlan.sequencesPerBlock,
              s % SequencePlan.sequencesPerBlock == 0 else { throw bad("no head batch size in its metadata") }
        func shape(_ name: String, _ dtype: SafeTensorsDType) throws -> [Int] {
            guard let e = file.entries[name] else { throw bad("no tensor \(name)") }
            guard e.dtype == dtype else { throw bad("\(name) is \(e.dtype.rawValue), not \(dtype.rawValue)") }
            return e.shape
        }
        let visual = try shape("visual", d.safetensors)
        guard visual.count == 2, visual[0] == n, visual[1] > 0 else { throw bad("visual is \(visual), not [\(n), width]") }
        let width = visual[1]
        let rowsPastEnd = try shape("past_end_frame", .i64)
        let distinctVisual = try shape("past_end_visual", d.safetensors).first ?? 0
        let distinctAudio = try shape("past_end_audio", d.safetensors).first ?? 0
        var expected: [(String, SafeTensorsDType, [Int])] = [
            ("audio", d.safetensors, [n, audioFeatureWidth]), ("time", .f64, [n]), ("face", .u8, [n]), ("row", .u8, [n]),
            ("past_end_visual_index", .i64, rowsPastEnd), ("past_end_audio_index", .i64, rowsPastEnd),
            ("past_end_visual", d.safetensors, [distinctVisual, width]),
            ("past_end_audio", d.safetensors, [distinctAudio, audioFeatureWidth]),
        ]
        if width == HeadStage.layer4Width {
            expected += [("visual_max", d.safetensors, [n, audioFeatureWidth]),
                         ("past_end_visual_max", d.safetensors, [distinctVisual, audioFeatureWidth])]
        }
        for (name, dtype, want) in expected {
            let got = try shape(name, dtype)
            guard got == want else { throw bad("\(name) is \(got), not \(want)") }
        }
        let pastVisual = try file.int64s("past_end_visual_index"), pastAudio = try file.int64s("past_end_audio_index")
        let pastFrames = try file.int64s("past_end_frame")
        guard pastVisual.allSatisfy({ (0..<Int64(distinctVisual)).contains($0) }),
              pastAudio.allSatisfy({ (0..<Int64(distinctAudio)).contains($0) }) else { throw bad("a past-the-end index is out of range") }
        guard pastFrames.allSatisfy({ $0 > Int64(n) }) else { throw bad("a past-the-end clip ends inside the video") }
        self.path = path
        self.file = file
        self.metadata = metadata
        frames = n
        dtype = d
        plan = SequencePlan(sequencesPerHeadBatch: s)
        visualWidth = width
        times = try file.doubles("time")
        faces = try file.rawBytes("face").map { $0 != 0 }
        hasRow = try file.rawBytes("row").map { $0 != 0 }
        pastEndFrames = pastFrames
        pastEndVisual = pastVisual
        pastEndAudio = pastAudio
    }

    /// The rows of `heads` on these features: the full run's rows (float32), in order, each as soon as it is final.
    /// `rowsDone` is called after each head batch's rows. Throws when a head needs features the cache lacks, or a
    /// head's output is not finite (`headWeights`, one per head, name the files then).
    public func run(heads: [any FusionHead], headWeights: [String]? = nil, smoothing: Bool = true, threads: Int, progress: ((Int) -> Void)? = nil,
                    rowsDone: (() throws -> Void)? = nil, emit: (FrameOutput) throws -> Void) throws -> PipelineSummary {
        let started = DispatchTime.now()
        let timings = StageTimings()
        // The buffers' width: layer4 when a head takes it (heads on maxima then get them from it, as in a full run
        // with such heads), else the heads' own.
        let wantsLayer4 = heads.contains { $0.visualFeatures != audioFeatureWidth }
        let width = wantsLayer4 || visualWidth != HeadStage.layer4Width ? visualWidth : audioFeatureWidth
        do { try HeadStage.check(heads, visualWidth: width) } catch {
            throw PipelineError(path, "holds visual features of width \(visualWidth), which head(s) \(heads.map(\.name).joined(separator: ",")) cannot take",
                                remedy: "make the cache with the TSAV backbones (emopipe features)")
        }
        let (visualName, pastEndName) = width == visualWidth ? ("visual", "past_end_visual") : ("visual_max", "past_end_visual_max")
        let buffers = HeadBatchBuffers(plan: plan, visualWidth: width)
        let stage = HeadStage(heads: heads, weights: headWeights, plan: plan, smoothing: smoothing, threads: threads, timings: timings)
        let rowBytes = width * dtype.byteSize, audioBytes = audioFeatureWidth * dtype.byteSize
        let dtype = self.dtype
        var withoutRow = Set<Int>()
        func emitRow(_ row: FrameOutput) throws { if !withoutRow.contains(row.frame) { try emit(row) } }

        func runBatch(_ index: Int, frameCount: Int) throws {
            let sequences = plan.sequenceCount(batch: index, frameCount: frameCount)
            let batch = HeadBatch(index: index, sequences: sequences, frameCount: frameCount, pastEnd: [])
            try file.withRawBytes(visualName) { visual in
                try file.withRawBytes(pastEndName) { pastVisual in
                    try file.withRawBytes("audio") { audio in
                        try file.withRawBytes("past_end_audio") { pastAudio in
                            for row in 0..<batch.rows {
                                let end = plan.clipEnd(batch: index, row: row)
                                let v = buffers.visual.pointer + row * width, a = buffers.audio.pointer + row * audioFeatureWidth
                                if end <= frameCount {
                                    Self.decode(visual, at: (end - 1) * rowBytes, count: width, dtype, into: v)
                                    Self.decode(audio, at: (end - 1) * audioBytes, count: audioFeatureWidth, dtype, into: a)
                                } else {
                                    guard let p = pastEndFrames.firstIndex(of: Int64(end)) else {
                                        throw PipelineError(path, "has no features for the clip ending past the end on frame \(end)",
                                                            remedy: "make the cache again with this emopipe")
                                    }
                                    Self.decode(pastVisual, at: Int(pastEndVisual[p]) * rowBytes, count: width, dtype, into: v)
                                    Self.decode(pastAudio, at: Int(pastEndAudio[p]) * audioBytes, count: audioFeatureWidth, dtype, into: a)
                                }
                            }
                        }
                    }
                }
            }
            try stage.run(batch, inputs: buffers, emit: emitRow)
            try timings.measure(.output) { try rowsDone?() }
        }

        for f in 1...frames {
            if !hasRow[f - 1] { withoutRow.insert(f) }
            stage.add(time: times[f - 1], face: faces[f - 1])
            if f % plan.framesPerHeadBatch == 0 { try runBatch(f / plan.framesPerHeadBatch - 1, frameCount: f) }
            progress?(f)
        }
        if frames % plan.framesPerHeadBatch != 0 { try runBatch(frames / plan.framesPerHeadBatch, frameCount: frames) }
        try stage.finish(frames: frames, emit: emitRow)
        try timings.measure(.output) { try rowsDone?() }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e9
        return PipelineSummary(frames: frames - withoutRow.count, framesWithFace: faces.filter { $0 }.count,
                               hasAudio: metadata["audio"] != "none", seconds: seconds, warnings: [], truncationDetail: metadata["truncation"],
                               clips: ClipCounts())
    }

    /// `count` values of a float32 or float16 tensor's bytes from byte `offset`, as floats.
    private static func decode(_ raw: UnsafeRawBufferPointer, at offset: Int, count: Int, _ dtype: FeatureDType,
                               into out: UnsafeMutablePointer<Float>) {
        switch dtype {
        case .f32:
            for i in 0..<count { out[i] = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: offset + 4 * i, as: UInt32.self))) }
        case .f16:
            for i in 0..<count { out[i] = halfToFloat(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: offset + 2 * i, as: UInt16.self))) }
        }
    }
}

extension Session {
    /// Runs the backbones on `input` and writes its features cache to `output` (committed by the caller once this
    /// returns; abandoned on error). `metadata` is added to the file's (the backbones' file and sha256, …).
    public func writeFeatures(_ input: PipelineInput, to output: OutputFile, dtype: FeatureDType = .f32, metadata: [String: String] = [:],
                              progress: ((Int) -> Void)? = nil) throws -> RunSummary {
        let width = model.visualIsMaxPooled ? audioFeatureWidth : HeadStage.layer4Width
        var meta = metadata
        meta["input"] = input.path
        meta["protocol"] = settings.rules.name.rawValue
        meta["audio"] = input.audio.hasAudio ? "yes" : "none"
        let writer = try FeatureCacheWriter(output: output, dtype: dtype, plan: settings.rules.plan, visualWidth: width, metadata: meta)
        writer.source = input.frames
        do {
            let summary = try run(input, tap: writer, progress: progress, rowsDone: nil) { _ in }
            return summary
        } catch {
            writer.abandon()
            throw error
        }
    }
}

extension SHA256 {
    /// The hex digest of a file, read in 4 MB chunks.
    public static func hex(file path: String) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw PipelineError(path, "cannot be read", remedy: "check the file")
        }
        defer { try? handle.close() }
        var hash = SHA256()
        while true {
            let chunk = try handle.read(upToCount: 1 << 22) ?? Data()
            if chunk.isEmpty { break }
            chunk.withUnsafeBytes { hash.update($0) }
        }
        return hash.finalize().map { String(format: "%02x", $0) }.joined()
    }
}
