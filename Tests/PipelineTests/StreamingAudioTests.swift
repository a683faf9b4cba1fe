import Audio
import Foundation
import Media
import Pipeline
import Testing
import TestSupport

@Suite struct StreamingAudioTests {
    /// The block assembler's windows read from the streaming track equal AudioWindow's over the whole decoded track,
    /// frame by frame.
    @Test(arguments: ["media/av_48k_stereo.mp4", "media/25fps.mp4"])
    func matchesWholeTrackWindows(clip: String) throws {
        let path = TestPaths.fixture(clip)
        let video = try VideoDecoder(path: path)
        var times: [Double] = []
        while let f = try video.next() { times.append(f.time) }
        let start = video.info.startTime ?? 0
        let whole = try #require(try decodeAudio(path: path, alignTo: start))
        let reference = try AudioWindow(samples: whole.samples, frameTimestamps: times)
        let streaming = StreamingAudio(reader: try AudioDecoder.open(path: path, alignTo: start))
        var assembler = BlockAssembler(rules: .clean, hasAudio: true)
        var buffer: [Float] = []
        for (i, t) in times.enumerated() {
            let request = try assembler.add(time: t).clip.audio
            guard case .samples(let range) = request else { Issue.record("frame \(i + 1): silence"); continue }
            #expect(range == reference.nominalRange(frame: i + 1), "frame \(i + 1)")
            try streaming.window(range, into: &buffer)
            #expect(buffer == reference.window(frame: i + 1), "frame \(i + 1)")
        }
    }

    @Test func noAudioGivesSilentWindows() throws {
        var assembler = BlockAssembler(rules: .clean, hasAudio: false)
        for i in 0..<40 { #expect(try assembler.add(time: Double(i) / 30).clip.audio == .silence) }
        // A track that ends: the window is the samples that exist (50 of them), left-padded with zeros.
        final class Short: AudioSampleReader {
            var left = 100
            func read(maxSamples: Int) throws -> [Float] {
                let n = min(left, maxSamples); left -= n
                return [Float](repeating: 1, count: n)
            }
        }
        let audio = StreamingAudio(reader: Short())
        var b: [Float] = []
        try audio.window(50..<70_000, into: &b)
        #expect(b.count == 45_599 && b.suffix(50).allSatisfy { $0 == 1 } && b.dropLast(50).allSatisfy { $0 == 0 })
    }
}

@Suite struct OutputTests {
    @Test func formats() {
        let row = FrameOutput(frame: 3, time: 0.1, face: false, valence: 0.25, arousal: -0.5)
        #expect(OutputFormat.csv.header == "frame,time,face,valence,arousal")
        #expect(OutputFormat.csv.line(row) == "3,0.100000,0,0.250000,-0.500000")
        #expect(OutputFormat.abaw.line(row) == "0.250000,-0.500000")
        #expect(OutputFormat.jsonl.line(row) == #"{"frame":3,"time":0.100000,"face":0,"valence":0.250000,"arousal":-0.500000}"#)
    }

    @Test func clipNormalizationOfBlackAndWhite() {
        var out = [Float](repeating: 0, count: 3 * 2 * 112 * 112)
        let white = [UInt8](repeating: 255, count: 112 * 112 * 3)
        out.withUnsafeMutableBufferPointer { ClipNormalization.write([nil, white], to: $0.baseAddress!) }
        for c in 0..<3 {
            let black = out[(c * 2 + 0) * 112 * 112], w = out[(c * 2 + 1) * 112 * 112]
            #expect(abs(black - (-ClipNormalization.mean[c] / ClipNormalization.std[c])) < 1e-6)
            #expect(abs(w - (1 - ClipNormalization.mean[c]) / ClipNormalization.std[c]) < 1e-6)
        }
    }

    @Test func svgPlotShadesFacelessSpans() {
        let rows = (0..<10).map { FrameOutput(frame: $0 + 1, time: Double($0) / 10, face: !(3...5).contains($0), valence: 0.1, arousal: -0.2) }
        let svg = SVGPlot.render(rows, title: "a < b")
        #expect(svg.hasPrefix("<svg"))
        #expect(svg.components(separatedBy: "<title>no face</title>").count == 2)
        #expect(svg.contains("a &lt; b"))
    }
}
