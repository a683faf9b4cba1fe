import ArgumentParser
import Foundation
import Media
import Pipeline

/// `emopipe probe`: what emopipe sees in a media file, as JSON on stdout.
struct Probe: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show what emopipe reads from a video (streams, size, rotation, frame rate) as JSON.",
        discussion: """
        With --decode, every frame and the whole audio track are decoded (streaming, as the pipeline does) and
        the counts, timestamps, corrupt packets, truncation and peak memory are reported.
        Exit status: 0 when the file decoded cleanly, 1 on an error, 3 when the file is truncated
        (the frames before the truncation are still reported).
        """
    )

    @Argument(help: "A video file (any container/codec FFmpeg reads).")
    var path: String

    @Flag(help: "Decode every frame and the audio, and report counts and timing.")
    var decode = false

    struct Report: Encodable {
        var path: String
        var codec: String
        var width: Int
        var height: Int
        var rotation: Int
        var frameRate: Double
        var duration: Double?
        var declaredFrames: Int?
        var hasAudio: Bool
        var audioCodec: String?
        var audioSampleRate: Int?
        var audioChannels: Int?
        var frames: Int?
        var firstTime: Double?
        var lastTime: Double?
        var corruptPackets: Int?
        var truncated: Bool?
        var audioSamples: Int?
        var peakMemoryMB: Double?
    }

    func run() throws {
        let decoder = try VideoDecoder(path: path)
        let i = decoder.info
        var report = Report(path: path, codec: i.codec, width: i.width, height: i.height, rotation: i.rotation,
                            frameRate: i.frameRate, duration: i.duration, declaredFrames: i.declaredFrameCount, hasAudio: i.hasAudio)
        let audio = try AudioDecoder.open(path: path)
        report.audioCodec = audio?.codecName
        report.audioSampleRate = audio?.sourceSampleRate
        report.audioChannels = audio?.sourceChannels
        if decode {
            var count = 0
            var first: Double?, last: Double?
            let progress = ProgressLine(label: "decoding \(URL(fileURLWithPath: path).lastPathComponent)", total: i.declaredFrameCount)
            while let f = try decoder.next() {
                if first == nil { first = f.time }
                last = f.time
                count += 1
                progress.update(count)
            }
            progress.finish()
            report.frames = count
            report.firstTime = first
            report.lastTime = last
            report.corruptPackets = decoder.corruptPackets
            report.truncated = decoder.truncated
            if let audio {
                var n = 0
                while true {
                    let chunk = try audio.read(maxSamples: 1 << 16)
                    if chunk.isEmpty { break }
                    n += chunk.count
                }
                report.audioSamples = n
            }
            report.peakMemoryMB = peakResidentMemoryMB()
        }
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        enc.keyEncodingStrategy = .convertToSnakeCase
        try StandardOutput.shared.write(String(decoding: try enc.encode(report), as: UTF8.self) + "\n")
        if decode {
            if decoder.corruptPackets > 0 {
                warn("\(path): \(decoder.corruptPackets) corrupt packet(s) skipped")
            }
            if decoder.truncated {
                printError("emopipe: " + PipelineError(path, "truncated: \(decoder.truncationDetail ?? "ends early"); the \(decoder.framesDecoded) frames before it were decoded",
                                                       remedy: "re-download or re-encode the file").description)
                throw ExitCode(3)
            }
        }
    }
}
