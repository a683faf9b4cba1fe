import Foundation
import Testing
import Media
import TestSupport

@Suite struct VideoDecoderTests {
    let exp = Expectations.shared

    func decodeAll(_ path: String) throws -> (VideoDecoder, [VideoFrame]) {
        let d = try VideoDecoder(path: path)
        var frames: [VideoFrame] = []
        while let f = try d.next() { frames.append(f) }
        return (d, frames)
    }

    @Test(arguments: ["av_48k_stereo.mp4", "noaudio.mp4", "25fps.mp4", "vfr.mkv"])
    func frameCountsAndTimestampsMatchFFprobe(clip: String) throws {
        let (d, frames) = try decodeAll(media(clip))
        let expected = exp.times(clip)
        #expect(frames.count == expected.count)
        #expect(d.info.width == exp.int(clip, "width") && d.info.height == exp.int(clip, "height"))
        for (f, t) in zip(frames, expected) {
            #expect(abs(f.time - (t - expected[0])) < 1e-3, "frame \(f.index): \(f.time) vs \(t)")
            #expect(f.image.width == d.info.width && f.image.height == d.info.height)
        }
        #expect(frames.map(\.index) == Array(0..<frames.count))
        #expect(!d.truncated && d.corruptPackets == 0)
    }

    @Test func variableFrameRateIsKept() throws {
        let (_, frames) = try decodeAll(media("vfr.mkv"))
        let gaps = zip(frames.dropFirst(), frames).map { $0.time - $1.time }
        #expect(gaps.contains { abs($0 - 1.0 / 30) < 2e-3 })
        #expect(gaps.contains { abs($0 - 0.1) < 2e-3 })
    }

    @Test(arguments: [("av_48k_stereo.mp4", [0, 45, 89]), ("25fps.mp4", [0, 49]), ("rotated.mp4", [0, 7])])
    func pixelsMatchTheFFmpegCLI(clip: String, frames indices: [Int]) throws {
        let (_, frames) = try decodeAll(media(clip))
        let pts = exp.points(clip)
        for i in indices {
            let want = exp.rgb(clip, frame: i)
            for (k, (x, y)) in pts.enumerated() {
                let (r, g, b) = frames[i].image.pixel(x, y)
                let got = [Int(r), Int(g), Int(b)]
                for c in 0..<3 {
                    #expect(abs(got[c] - want[k][c]) <= 4, "\(clip) frame \(i) at (\(x),\(y)): \(got) vs ffmpeg \(want[k])")
                }
            }
        }
    }

    @Test func knownSolidColour() throws {
        let (_, frames) = try decodeAll(media("25fps.mp4"))
        let nominal = (exp.clip("25fps.mp4")["nominal_rgb"] as! [NSNumber]).map(\.intValue)
        let (r, g, b) = frames[10].image.pixel(40, 20)
        #expect(abs(Int(r) - nominal[0]) <= 3 && abs(Int(g) - nominal[1]) <= 3 && abs(Int(b) - nominal[2]) <= 3, "\(r),\(g),\(b)")
    }

    @Test func rotationIsApplied() throws {
        let d = try VideoDecoder(path: media("rotated.mp4"))
        #expect(d.info.rotation != 0)
        #expect(d.info.width == exp.int("rotated.mp4", "width") && d.info.height == exp.int("rotated.mp4", "height"))
        let f = try #require(try d.next())
        #expect(f.image.width == 96 && f.image.height == 160)
    }

    @Test func rotateHelper() {
        // 2×1 image: red, green → clockwise 90 gives 1×2: red on top, green below.
        let img = RGBImage(width: 2, height: 1, pixels: [255, 0, 0, 0, 255, 0])
        let r = img.rotatedClockwise(90)
        #expect(r.width == 1 && r.height == 2)
        #expect(r.pixels == [255, 0, 0, 0, 255, 0])
        let l = img.rotatedClockwise(270)
        #expect(l.pixels == [0, 255, 0, 255, 0, 0])
        #expect(img.rotatedClockwise(180).pixels == [0, 255, 0, 255, 0, 0])
    }
}

@Suite struct BadInputTests {
    let exp = Expectations.shared

    @Test func truncatedFileDecodesWhatItHasAndSaysSo() throws {
        let d = try VideoDecoder(path: media("truncated.mkv"))
        var n = 0
        while try d.next() != nil { n += 1 }
        #expect(n == exp.int("truncated.mkv", "decodable_frames"))
        #expect(n < exp.int("truncated.mkv", "full_frames"))
        #expect(d.truncated)
    }

    @Test func corruptPacketsAreSkippedAndCounted() throws {
        let d = try VideoDecoder(path: media("corrupt.avi"))
        var n = 0
        while try d.next() != nil { n += 1 }
        let corrupted = (exp.clip("corrupt.avi")["corrupted"] as! [NSNumber]).count
        #expect(d.corruptPackets == corrupted)
        #expect(n == exp.int("corrupt.avi", "packets") - corrupted)
        #expect(!d.truncated)
    }

    func expectError(_ path: String, _ kind: MediaError.Kind, mentioning words: String) {
        do {
            _ = try VideoDecoder(path: path)
            Issue.record("\(path) opened")
        } catch let e as MediaError {
            #expect(e.kind == kind, "\(e)")
            #expect(e.description.hasPrefix(path))
            #expect(e.description.contains(words), "\(e)")
            #expect(!e.description.contains("\n"))
        } catch { Issue.record("unexpected \(error)") }
    }

    @Test func badInputsAreOneLineErrors() throws {
        let dir = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let text = dir.appendingPathComponent("notes.mp4").path
        try Data("this is not a video\n".utf8).write(to: URL(fileURLWithPath: text))
        let empty = dir.appendingPathComponent("empty.mkv").path
        #expect(FileManager.default.createFile(atPath: empty, contents: Data()))
        expectError(dir.appendingPathComponent("missing.mp4").path, .notFound, mentioning: "no such file")
        expectError(text, .notMedia, mentioning: "not a media file")
        expectError(empty, .notMedia, mentioning: "not a media file")
        expectError(dir.path, .notMedia, mentioning: "folder")
        expectError(media("audio_only.m4a"), .noVideoStream, mentioning: "no video stream")
        expectError(media("unsupported.mkv"), .unsupportedCodec, mentioning: "unsupported")
    }
}
