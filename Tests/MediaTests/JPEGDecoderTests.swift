import CTurboJPEG
import Foundation
import Kernels
import Media
import Testing
import TestSupport

/// `decodeJPEGAsPIL` gives PIL's pixels bit for bit: digests of `np.array(Image.open(p))` written by
/// tools/official_reference.py (Fixtures/official/pil_pixels.sha256) for the committed crop folder and for the
/// official fixture's crops (made by `make official-fixture`; a failure when absent).
@Suite struct JPEGDecoderTests {
    static let digests: [String: (sha: String, count: Int)] = {
        let text = (try? String(contentsOfFile: TestPaths.fixture("official/pil_pixels.sha256"), encoding: .utf8)) ?? ""
        var d: [String: (String, Int)] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let f = line.split(separator: " ", omittingEmptySubsequences: true)
            if f.count == 3, let n = Int(f[1]) { d[String(f[2])] = (String(f[0]), n) }
        }
        return d
    }()

    static func pilDigest(of folder: String) throws -> (sha: String, count: Int, ffmpegMaxDifference: Int) {
        let names = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".jpg") }
            .sorted { Int($0.dropLast(4))! < Int($1.dropLast(4))! }
        var hash = SHA256()
        var worst = 0
        for name in names {
            let path = (folder as NSString).appendingPathComponent(name)
            let image = try decodeJPEGAsPIL(path: path)
            #expect(image.width == 112 && image.height == 112)
            image.pixels.withUnsafeBytes { hash.update($0) }
            let other = try decodeImage(path: path)
            for (a, b) in zip(image.pixels, other.pixels) { worst = max(worst, abs(Int(a) - Int(b))) }
        }
        return (hash.finalize().map { String(format: "%02x", $0) }.joined(), names.count, worst)
    }

    @Test func committedCropsDecodeToPILsPixels() throws {
        let expected = try #require(Self.digests["Fixtures/cropped_aligned/clip/"])
        let got = try Self.pilDigest(of: TestPaths.fixture("cropped_aligned/clip"))
        #expect(got.count == expected.count)
        #expect(got.sha == expected.sha, "libjpeg-turbo's pixels differ from PIL's")
    }

    @Test(arguments: TestPaths.officialFixtureVideos)
    func officialFixtureCropsDecodeToPILsPixels(video: String) throws {
        let folder = try TestPaths.officialFixture("cropped_aligned/\(video)")
        let expected = try #require(Self.digests["official-fixture/cropped_aligned/\(video)/"])
        let got = try Self.pilDigest(of: folder)
        #expect(got.count == expected.count)
        #expect(got.sha == expected.sha, "libjpeg-turbo's pixels differ from PIL's")
        // The reason for a separate decoder: FFmpeg's mjpeg + swscale path is not PIL's.
        #expect(got.ffmpegMaxDifference > 0)
        print("\(video): \(got.count) crops bit-identical to PIL; FFmpeg's decoding differs by up to \(got.ffmpegMaxDifference) levels")
    }

    @Test func nonRGBAndTruncatedJPEGsAreRefusedWithTheReason() throws {
        let dir = TestPaths.temporaryDirectory("jpeg")
        defer { try? FileManager.default.removeItem(at: dir) }
        let source = TestPaths.fixture("cropped_aligned/clip/00001.jpg")
        // A greyscale JPEG, written by libjpeg-turbo itself.
        let gray = dir.appendingPathComponent("gray.jpg").path
        let handle = try #require(tjInitCompress())
        defer { tjDestroy(handle) }
        let plane = (0..<(64 * 48)).map { UInt8($0 % 251) }
        var out: UnsafeMutablePointer<UInt8>? = nil
        var size: UInt = 0
        let c = plane.withUnsafeBufferPointer {
            tjCompress2(handle, $0.baseAddress, 64, 0, 48, Int32(TJPF_GRAY.rawValue), &out, &size, Int32(TJSAMP_GRAY.rawValue), 90, 0)
        }
        try #require(c == 0 && out != nil)
        try Data(bytes: out!, count: Int(size)).write(to: URL(fileURLWithPath: gray))
        tjFree(out)
        #expect { try decodeJPEGAsPIL(path: gray) } throws: { "\($0)".contains("greyscale") }
        // Cut inside the scan: PIL raises "image file is truncated"; libjpeg-turbo would pad it with grey.
        let bytes = try Data(contentsOf: URL(fileURLWithPath: source))
        let cut = dir.appendingPathComponent("cut.jpg").path
        try bytes.prefix(bytes.count - 40).write(to: URL(fileURLWithPath: cut))
        #expect { try decodeJPEGAsPIL(path: cut) } throws: { "\($0)".contains("truncated") }
        let text = dir.appendingPathComponent("text.jpg").path
        try Data("not a jpeg".utf8).write(to: URL(fileURLWithPath: text))
        #expect { try decodeJPEGAsPIL(path: text) } throws: { "\($0)".contains(text) }
        #expect { try decodeJPEGAsPIL(path: dir.appendingPathComponent("none.jpg").path) } throws: { "\($0)".contains("no such file") }
    }
}
