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

    @Argument(help: "A video file (any container/codec FFmpeg reads), a FIFO, or - for standard input.")
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
        /// Audio packets given up because they lay too far from the video in the file (`AudioDecoder.lostPackets`).
        var audioPacketsLost: Int?
        var peakMemoryMB: Double?
    }

    func run() throws {
        // One open for the video and the audio, as the pipeline does (`-`, standard input, or a FIFO can be read once).
        let media = try MediaInput.open(path)
        let decoder = media.video
        let i = decoder.info
        var report = Report(path: path, codec: i.codec, width: i.width, height: i.height, rotation: i.rotation,
                            frameRate: i.frameRate, duration: i.duration, declaredFrames: i.declaredFrameCount, hasAudio: i.hasAudio)
        var audio = media.audio
        report.audioCodec = audio?.codecName
        report.audioSampleRate = audio?.sourceSampleRate
        report.audioChannels = audio?.sourceChannels
        if decode {
            var count = 0
            var first: Double?, last: Double?
            var samples = 0
            // The audio is read in step with the frames (up to the newest frame's time), so that neither stream's
            // packets pile up in the shared demuxer.
            func readAudio(upTo end: Int) throws {
                guard let audio else { return }
                while samples < end {
                    let chunk = try audio.read(maxSamples: min(1 << 16, end - samples))
                    if chunk.isEmpty { return }
                    samples += chunk.count
                }
            }
            let name = path == "-" ? "standard input" : URL(fileURLWithPath: path).lastPathComponent
            let progress = ProgressLine(label: "decoding \(name)", total: i.declaredFrameCount)
            while let f = try decoder.next() {
                if first == nil { first = f.time }
                last = f.time
                count += 1
                progress.update(count)
                if let audio, f.time.isFinite { try readAudio(upTo: Int(min(f.time * Double(audio.sampleRate), 1e15))) }
            }
            progress.finish()
            try readAudio(upTo: .max)
            report.frames = count
            report.firstTime = first
            report.lastTime = last
            report.corruptPackets = decoder.corruptPackets
            report.truncated = decoder.truncated
            if let audio {
                report.audioSamples = samples
                report.audioPacketsLost = audio.lostPackets
            }
            report.peakMemoryMB = peakResidentMemoryMB()
        } else {
            audio = nil  // only the header was wanted: no audio packets are kept
        }
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        enc.keyEncodingStrategy = .convertToSnakeCase
        try StandardOutput.shared.write(String(decoding: try enc.encode(report), as: UTF8.self) + "\n")
        if decode {
            if decoder.corruptPackets > 0 {
                warn("\(path): \(decoder.corruptPackets) corrupt packet(s) skipped")
            }
            if let lost = report.audioPacketsLost, lost > 0 {
                warn("\(path): \(lost) audio packet(s) lay too far from the video in the file and were left out (remux it so "
                     + "the streams are interleaved: ffmpeg -i IN -c copy OUT.mkv)")
            }
            if decoder.truncated {
                printError("emopipe: " + PipelineError(path, "truncated: \(decoder.truncationDetail ?? "ends early"); the \(decoder.framesDecoded) frames before it were decoded",
                                                       remedy: "re-download or re-encode the file").description)
                throw ExitCode(3)
            }
        }
    }
}
