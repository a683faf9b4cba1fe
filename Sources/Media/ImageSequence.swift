import Foundation

/// An Aff-Wild2 `cropped_aligned/<video>/` folder: `00001.jpg`, `00002.jpg`, … (1-based). A missing number is a
/// frame without a face. Frames are decoded through FFmpeg's image decoders, one at a time.
public struct ImageSequence: Sendable {
    public let folder: String
    /// The highest frame number present: the sequence covers frames 1…frameCount.
    public let frameCount: Int
    public let frameRate: Double
    private let files: [Int: String]

    public init(folder: String, frameRate: Double = 30) throws {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDir) else {
            throw MediaError(.notFound, folder, "no such folder")
        }
        guard isDir.boolValue else { throw MediaError(.badSequence, folder, "is not a folder of numbered images") }
        guard frameRate > 0, frameRate.isFinite else {
            throw MediaError(.badSequence, folder, "the frame rate must be positive (got \(frameRate))")
        }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        var files: [Int: String] = [:]
        for name in names {
            let url = URL(fileURLWithPath: name)
            guard ["jpg", "jpeg", "png", "bmp"].contains(url.pathExtension.lowercased()) else { continue }
            let stem = url.deletingPathExtension().lastPathComponent
            guard !stem.isEmpty, stem.allSatisfy(\.isASCII), stem.allSatisfy(\.isNumber), let n = Int(stem), n >= 1, n < 10_000_000 else { continue }
            files[n] = (folder as NSString).appendingPathComponent(name)
        }
        guard let last = files.keys.max() else {
            throw MediaError(.badSequence, folder, "holds no numbered images (expected 00001.jpg, 00002.jpg, …)")
        }
        self.folder = folder
        self.frameCount = last
        self.frameRate = frameRate
        self.files = files
    }

    /// Frames whose image is present.
    public var presentCount: Int { files.count }

    /// Time of frame n (1-based) in seconds, the first frame at 0.
    public func time(ofFrame n: Int) -> Double { Double(n - 1) / frameRate }

    /// Whether frame n (1-based) has an image.
    public func hasImage(_ n: Int) -> Bool { files[n] != nil }

    /// The file of frame n (1-based); nil when it is missing.
    public func path(_ n: Int) -> String? { files[n] }

    /// The image of frame n (1-based); nil when that file is missing. Throws when it exists but cannot be decoded.
    public func image(_ n: Int) throws -> RGBImage? {
        guard let path = files[n] else { return nil }
        return try decodeImage(path: path)
    }
}
