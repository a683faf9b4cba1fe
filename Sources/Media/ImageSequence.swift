import Foundation

/// An Aff-Wild2 `cropped_aligned/<video>/` folder: `00001.jpg`, `00002.jpg`, … (1-based). A missing number is a
/// frame without a face. Frames are decoded through FFmpeg's image decoders, one at a time.
public struct ImageSequence: Sendable {
    public let folder: String
    /// The highest frame number present: the sequence covers frames 1…frameCount.
    public let frameCount: Int
    public let frameRate: Double
    private let files: [Int: String]

    /// Frame rates accepted for a folder of crops (frames per second). Outside it frame times stop being times of a
    /// real video (--fps 1e-300 put frame 2 at 1e300 s, past every sample index).
    public static let frameRates: ClosedRange<Double> = 0.1...1000

    public init(folder: String, frameRate: Double = 30) throws {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDir) else {
            throw MediaError(.notFound, folder, "no such folder", fix: "check the path")
        }
        guard isDir.boolValue else { throw MediaError(.badSequence, folder, "is not a folder of numbered images") }
        guard Self.frameRates.contains(frameRate) else {
            throw MediaError(.badSequence, folder, "a frame rate of \(frameRate) per second is outside " + String(format: "%g to %g", Self.frameRates.lowerBound, Self.frameRates.upperBound),
                             fix: "give the rate the crops were taken at, e.g. --fps 30 for Aff-Wild2")
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
            throw MediaError(.badSequence, folder, "holds no numbered images", fix: "a crop folder holds 00001.jpg, 00002.jpg, …")
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
