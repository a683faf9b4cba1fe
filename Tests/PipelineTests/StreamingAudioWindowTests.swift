import Audio
import Foundation
import Media
import Pipeline
import Testing
import TestSupport

@Suite struct StreamingAudioWindowTests {
    /// The streaming windows equal AudioWindow's over the whole decoded track, frame by frame.
    @Test(arguments: ["media/av_48k_stereo.mp4", "media/25fps.mp4"])
    func matchesWholeTrackWindows(clip: String) throws {
        let path = TestPaths.fixture(clip)
        let video = try VideoDecoder(path: path)
        var times: [Double] = []
        while let f = try video.next() { times.append(f.time) }
        let start = video.info.startTime ?? 0
        let whole = try #require(try decodeAudio(path: path, alignTo: start))
        let reference = try AudioWindow(samples: whole.samples, frameTimestamps: times)
        let streaming = StreamingAudioWindow(decoder: try AudioDecoder.open(path: path, alignTo: start))
        var buffer: [Float] = []
        for (i, t) in times.enumerated() {
            streaming.addFrame(time: t)
            try streaming.fillNewest(into: &buffer)
            #expect(buffer == reference.window(frame: i + 1), "frame \(i + 1)")
        }
    }

    @Test func noAudioGivesSilentWindows() throws {
        let s = StreamingAudioWindow(decoder: nil)
        var b: [Float] = []
        for i in 0..<40 {
            s.addFrame(time: Double(i) / 30)
            try s.fillNewest(into: &b)
            #expect(b.count == AudioWindow.minimumLength && b.allSatisfy { $0 == 0 })
        }
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
