import Foundation

/// Valence and arousal over time as an SVG line chart; spans of frames without a face are shaded.
public enum SVGPlot {
    public static func render(_ rows: [FrameOutput], title: String) -> String {
        let w = 960.0, h = 360.0, left = 50.0, right = 20.0, top = 30.0, bottom = 40.0
        let pw = w - left - right, ph = h - top - bottom
        let t0 = rows.first?.time ?? 0, t1 = max(rows.last?.time ?? 1, t0 + 1e-6)
        func x(_ t: Double) -> Double { left + (t - t0) / (t1 - t0) * pw }
        func y(_ v: Double) -> Double { top + (1 - (min(1, max(-1, v)) + 1) / 2) * ph }
        func f(_ d: Double) -> String { String(format: "%.1f", d) }
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(w))\" height=\"\(Int(h))\" viewBox=\"0 0 \(Int(w)) \(Int(h))\" font-family=\"sans-serif\" font-size=\"12\">\n"
        s += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        s += "<text x=\"\(f(left))\" y=\"18\" font-size=\"14\">\(escape(title))</text>\n"
        // Face-less spans.
        var i = 0
        let step = rows.count > 1 ? (t1 - t0) / Double(rows.count - 1) : 0
        while i < rows.count {
            if rows[i].face { i += 1; continue }
            var j = i
            while j + 1 < rows.count && !rows[j + 1].face { j += 1 }
            let xa = x(rows[i].time - step / 2), xb = x(rows[j].time + step / 2)
            s += "<rect x=\"\(f(max(left, xa)))\" y=\"\(f(top))\" width=\"\(f(min(left + pw, xb) - max(left, xa)))\" height=\"\(f(ph))\" fill=\"#dddddd\"><title>no face</title></rect>\n"
            i = j + 1
        }
        // Axes and grid.
        for v in [-1.0, -0.5, 0, 0.5, 1] {
            s += "<line x1=\"\(f(left))\" y1=\"\(f(y(v)))\" x2=\"\(f(left + pw))\" y2=\"\(f(y(v)))\" stroke=\"\(v == 0 ? "#888" : "#eee")\"/>\n"
            s += "<text x=\"\(f(left - 8))\" y=\"\(f(y(v) + 4))\" text-anchor=\"end\">\(v)</text>\n"
        }
        let ticks = 6
        for k in 0...ticks {
            let t = t0 + (t1 - t0) * Double(k) / Double(ticks)
            s += "<text x=\"\(f(x(t)))\" y=\"\(f(top + ph + 18))\" text-anchor=\"middle\">\(String(format: "%.1f", t)) s</text>\n"
        }
        func path(_ value: (FrameOutput) -> Double) -> String {
            rows.enumerated().map { (k, r) in (k == 0 ? "M" : "L") + f(x(r.time)) + "," + f(y(value(r))) }.joined(separator: " ")
        }
        if !rows.isEmpty {
            s += "<path d=\"\(path { $0.valence })\" fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"1.5\"/>\n"
            s += "<path d=\"\(path { $0.arousal })\" fill=\"none\" stroke=\"#d62728\" stroke-width=\"1.5\"/>\n"
        }
        s += "<text x=\"\(f(left + pw - 160))\" y=\"18\" fill=\"#1f77b4\">— valence</text>\n"
        s += "<text x=\"\(f(left + pw - 80))\" y=\"18\" fill=\"#d62728\">— arousal</text>\n"
        s += "</svg>\n"
        return s
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}
