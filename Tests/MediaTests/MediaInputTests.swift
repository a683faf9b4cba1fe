import Foundation
import Testing
@testable import Media
import TestSupport

/// One open per input (fault 6): `MediaInput.open` reads a file, a FIFO or standard input once for both decoders.
/// What it delivers must be what the separate decoders (each opening the file itself, as before) deliver: the same
/// frames (timestamps and pixels) and the same audio samples, on every fixture.
@Suite(.serialized) struct MediaInputTests {
    static let videos = ["av_48k_stereo.mp4", "noaudio.mp4", "25fps.mp4", "vfr.mkv", "rotated.mp4", "truncated.mkv", "corrupt.avi"]

    struct Decoded: Equatable {
        var times: [Double] = [], pts: [Double] = [], pixelSums: [Int] = []
        var samples: [Float] = []
        var truncated = false, corruptPackets = 0
    }

    static func frameFacts(_ f: VideoFrame, into d: inout Decoded) {
        d.times.append(f.time)
        d.pts.append(f.pts)
        // FNV-1a over 8-byte words (a debug build runs this loop unoptimised: words, not bytes).
        d.pixelSums.append(f.image.pixels.withUnsafeBytes { raw in
            var h: UInt64 = 0xCBF2_9CE4_8422_2325
            let words = raw.count / 8
            for i in 0..<words { h = (h ^ raw.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)) &* 0x100_0000_01B3 }
            for i in (8 * words)..<raw.count { h = (h ^ UInt64(raw[i])) &* 0x100_0000_01B3 }
            return Int(truncatingIfNeeded: h)
        })
    }

    /// Each decoder on its own open of the file.
    static func separately(_ path: String) throws -> Decoded {
        var d = Decoded()
        let video = try VideoDecoder(path: path)
        while let f = try video.next() { frameFacts(f, into: &d) }
        d.truncated = video.truncated
        d.corruptPackets = video.corruptPackets
        d.samples = try AudioDecoder.open(path: path, alignTo: video.info.startTime ?? 0)?.readAll() ?? []
        return d
    }

    /// Both decoders from one `MediaInput.open`, read in step as the pipeline does: after each frame, the audio up to
    /// that frame's time.
    static func together(_ path: String) throws -> Decoded {
        var d = Decoded()
        let (video, audio) = try MediaInput.open(path)
        while let f = try video.next() {
            frameFacts(f, into: &d)
            if let audio {
                let want = Int(f.time * 44100) + 1
                while d.samples.count < want {
                    let chunk = try audio.read(maxSamples: min(1 << 15, want - d.samples.count))
                    if chunk.isEmpty { break }
                    d.samples += chunk
                }
            }
        }
        d.samples += try audio?.readAll() ?? []
        #expect(audio?.lostPackets ?? 0 == 0, "\(path)")
        d.truncated = video.truncated
        d.corruptPackets = video.corruptPackets
        return d
    }

    @Test(arguments: videos)
    func sameFramesAndSamplesAsSeparateDecoders(clip: String) throws {
        let a = try Self.separately(media(clip)), b = try Self.together(media(clip))
        #expect(b.times.count > 0)
        #expect(a.times == b.times && a.pts == b.pts && a.pixelSums == b.pixelSums, "\(clip): frames differ")
        #expect(a.samples == b.samples, "\(clip): \(a.samples.count) vs \(b.samples.count) samples")
        #expect(a.truncated == b.truncated && a.corruptPackets == b.corruptPackets)
        if clip == "av_48k_stereo.mp4" { #expect(b.samples.count > 44100) }
    }

    /// A FIFO can be opened once only: the writer is gone after the first reader. Both decoders still get everything.
    @Test(arguments: ["av_48k_stereo.mp4", "vfr.mkv"])
    func fifoInput(clip: String) throws {
        let dir = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let fifo = dir.appendingPathComponent("input").path
        #expect(mkfifo(fifo, 0o600) == 0)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: media(clip)))
        let writer = Thread {
            guard let h = FileHandle(forWritingAtPath: fifo) else { return }
            try? h.write(contentsOf: bytes)
            try? h.close()
        }
        writer.start()
        let viaFIFO = try Self.together(fifo)
        let reference = try Self.separately(media(clip))
        #expect(viaFIFO.times == reference.times && viaFIFO.pixelSums == reference.pixelSums)
        #expect(viaFIFO.samples == reference.samples)
    }

    /// Without anyone reading the audio (the decoder released), nothing of it is kept while the video is read.
    @Test func releasedAudioIsNotQueued() throws {
        let demuxer = try Demuxer(path: media("av_48k_stereo.mp4"))
        let video = try VideoDecoder(demuxer, threads: 1)
        var audio: AudioDecoder? = try AudioDecoder(demuxer, stream: demuxer.input.audioStream!, sampleRate: 44100, alignTo: 0)
        #expect(audio != nil)
        audio = nil
        var n = 0
        while try video.next() != nil { n += 1 }
        #expect(n == 90)
        #expect(demuxer.queuedPackets == 0)
    }

    /// Memory stays bounded when the audio is far from the video in the file. An audio track that ends early ends
    /// there, nothing lost; one whose packets lie beyond the bound is cut, and the packets given up are counted.
    @Test func queuesAreBounded() throws {
        let dir = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        // 6 s of video; audio for 1 s only.
        let short = dir.appendingPathComponent("short_audio.mkv").path
        try ffmpeg(["-f", "lavfi", "-i", "testsrc=size=64x48:rate=10:duration=6", "-f", "lavfi", "-i", "sine=duration=1",
                    "-c:v", "mpeg4", "-c:a", "aac", short])
        // 6 s of video; audio packets starting 4 s in (their first timestamp too: the audio starts 4 s late).
        let late = dir.appendingPathComponent("late_audio.mkv").path
        try ffmpeg(["-f", "lavfi", "-i", "testsrc=size=64x48:rate=10:duration=6", "-itsoffset", "4", "-f", "lavfi", "-i",
                    "sine=duration=2", "-c:v", "mpeg4", "-c:a", "aac", late])

        func run(_ path: String, maxSeconds: Double) throws -> (frames: Int, samples: Int, lost: Int, queuedMost: Int) {
            let demuxer = try Demuxer(path: path)
            demuxer.maxQueuedSeconds = maxSeconds
            let video = try VideoDecoder(demuxer, threads: 1)
            let audio = try AudioDecoder(demuxer, stream: demuxer.input.audioStream!, sampleRate: 44100, alignTo: 0)
            var frames = 0, samples = 0, most = 0
            while let f = try video.next() {
                frames += 1
                while samples < Int(f.time * 44100) + 1 {
                    let chunk = try audio.read(maxSamples: 4096)
                    if chunk.isEmpty { break }
                    samples += chunk.count
                }
                most = max(most, demuxer.queuedPackets)
            }
            samples += try audio.readAll().count
            return (frames, samples, audio.lostPackets, most)
        }
        let s = try run(short, maxSeconds: 1)
        #expect(s.frames == 60 && s.lost == 0)
        #expect(abs(s.samples - 44100) < 2048, "\(s.samples)")
        #expect(s.queuedMost <= 12, "\(s.queuedMost) video packets held at once")
        // The same file with the default bound: the same samples.
        #expect(try run(short, maxSeconds: 60).samples == s.samples)

        let cut = try run(late, maxSeconds: 1)
        #expect(cut.frames == 60 && cut.lost > 0 && cut.samples == 0)
        #expect(cut.queuedMost <= 12, "\(cut.queuedMost)")
        let whole = try run(late, maxSeconds: 60)
        #expect(whole.lost == 0 && whole.samples > 5 * 44100)
    }

    /// Fault 2: a video whose timestamps jump by 10¹⁸ ms (10¹⁵ s) used to crash the audio window's sample index; the
    /// decoder refuses the frame, naming the file. Made here from a fixture with ffmpeg's `setts` bitstream filter.
    @Test func hugeTimestampJumpIsAnError() throws {
        let dir = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("jump.mkv").path
        try makeTimestampJump(from: media("av_48k_stereo.mp4"), to: path)
        let (video, _) = try MediaInput.open(path)
        for _ in 0..<5 { #expect(try video.next() != nil) }
        do {
            _ = try video.next()
            Issue.record("frame 6 decoded")
        } catch let e as MediaError {
            #expect(e.description.hasPrefix(path + ": frame 6 is stamped"), "\(e)")
            #expect(e.description.hasSuffix(")") && e.fix != nil && !e.description.contains("\n"))
        }
    }

    @Test func frameRatesOfCropFoldersAreValidated() throws {
        let folder = TestPaths.fixture("cropped_aligned/clip")
        for bad in [1e-300, 0, -30, .nan, .infinity, 0.05, 1001] {
            #expect(throws: MediaError.self) { try ImageSequence(folder: folder, frameRate: bad) }
        }
        for good in [0.1, 25, 30, 1000] {
            let s = try ImageSequence(folder: folder, frameRate: good)
            #expect(s.time(ofFrame: s.frameCount).isFinite)
        }
    }

    @Test func standardInputIsNamedDash() throws {
        // Not run against the test process's stdin (that is /dev/null here): only how `-` is spelled.
        #expect(FormatInput.standardInput == "-")
    }
}

func ffmpeg(_ args: [String]) throws {
    let r = try runCommand("/usr/bin/ffmpeg", ["-nostdin", "-loglevel", "error", "-y"] + args)
    guard r.status == 0 else { throw MediaError(.writeFailed, args.last ?? "", "ffmpeg failed: \(r.stderr)") }
}

/// A copy of `source` (H.264 + AAC) as Matroska whose video timestamps jump by 10¹⁸ ms after frame 5 (frames 256 ms
/// apart before and after), the audio untouched: `setts` rewrites the packets' timestamps without re-encoding.
func makeTimestampJump(from source: String, to path: String) throws {
    try ffmpeg(["-i", source, "-c", "copy", "-bsf:v", "setts=ts=if(gte(N\\,5)\\,1e18+256*N\\,256*N):time_base=1/1000", path])
}
