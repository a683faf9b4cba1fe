import ArgumentParser
import Foundation
import Kernels
import Models
import Pipeline

extension SpeedMode: ExpressibleByArgument {
    /// `exact`, `fast`, or PRECISION[/K]: `int8`, `bf16/2`, `fp32/4`.
    public init?(argument: String) {
        switch argument.lowercased() {
        case "exact": self = .exact; return
        case "fast": self = .fast; return
        default: break
        }
        let parts = argument.lowercased().split(separator: "/").map(String.init)
        guard (1...2).contains(parts.count), let p = Precision(rawValue: parts[0]) else { return nil }
        let k = parts.count == 2 ? Int(parts[1]) : 1
        guard let k, SpeedMode.clipStrides.contains(k) else { return nil }
        self.init(precision: p, clipStride: k)
    }

    /// The form `init(argument:)` reads.
    var argument: String { precision.rawValue + (clipStride > 1 ? "/\(clipStride)" : "") }
}

/// `emopipe bench --video FILE`: every speed mode on one input, end to end, and each mode's rows against exact mode's.
extension BenchCommand {
    static let defaultVideoModes: [SpeedMode] = [.exact, SpeedMode(precision: .bf16), SpeedMode(precision: .int8),
                                                 SpeedMode(clipStride: 2), SpeedMode(clipStride: 4), SpeedMode(clipStride: 8),
                                                 SpeedMode(precision: .int8, clipStride: 2), SpeedMode(precision: .int8, clipStride: 4),
                                                 SpeedMode(precision: .int8, clipStride: 8), .fast]

    func runVideo(_ path: String) throws {
        var modes = videoModes.isEmpty ? Self.defaultVideoModes : videoModes
        if !modes.contains(.exact) { modes.insert(.exact, at: 0) }   // the reference of the accuracy columns
        var unique: [SpeedMode] = []
        for m in modes where !unique.contains(m) { unique.append(m) }
        modes = unique

        // The model: --model DIR, or synthetic weights (the synth.py rule) in a temporary folder.
        var temporary: String?
        defer { if let t = temporary { try? FileManager.default.removeItem(atPath: t) } }
        let folder: String
        if let m = modelFolder {
            folder = m
        } else {
            let t = NSTemporaryDirectory() + "emopipe-bench-\(getpid())"
            temporary = t
            log("emopipe bench: writing a synthetic model (all heads) to \(t)")
            try SyntheticModel.write(folder: t, head: .rjca)
            for kind in HeadKind.allCases where kind != .rjca {
                try SyntheticWeights.writer(for: FusionHeads.expectedKeys(kind.spec), metadata: ["kind": "head", "head": kind.spec.name, "synthetic": "true"])
                    .write(to: (t as NSString).appendingPathComponent("head_\(kind.spec.name).safetensors"))
            }
            folder = t
        }
        let present = ModelLocator.heads(in: folder)
        let heads: [HeadSpec] = try {
            if allHeads { return HeadKind.allCases.map(\.spec).filter { spec in present.contains { $0.0 == spec } } }
            return [try ModelLocator.resolve(backbones: nil, head: videoHead ?? (modelFolder == nil ? .rjca : nil), headWeights: nil, folder: folder).head]
        }()
        guard !heads.isEmpty else { throw PipelineError(folder, "no head weights in this model folder", remedy: "see docs/weights.md") }
        let first = try EmotionModel(folder: folder, head: heads[0])

        // The input, read once (decode + face path timed here), then replayed for every mode.
        log("emopipe bench: reading \(path) (decoding and the face path, once)")
        let input = try RecordedInput(path: path, model: first, threads: threads)
        let n = input.frames.count
        guard n > 0 else { throw PipelineError(path, "no frame could be decoded", remedy: "`emopipe probe \(path) --decode` shows what emopipe reads") }
        let faces = input.frames.filter { $0.crop != nil }.count
        log(String(format: "emopipe bench: %d frames (%d with a face), read in %.1f s (%.1f frames/s)", n, faces, input.readSeconds,
                   Double(n) / input.readSeconds))

        // 1. Timing: each mode alone, fresh features (nothing shared between modes), the first head. The features of
        //    every clip (stride 1) are kept for the accuracy of the other heads.
        var timed: [SpeedComparison.Run] = []
        var models: [Precision: EmotionModel] = [:]
        func model(_ p: Precision) -> EmotionModel { if let m = models[p] { return m }; let m = EmotionModel(first, precision: p); models[p] = m; return m }
        var kept: [Precision: ReplayedFeatures] = [:]
        for mode in modes {
            log("emopipe bench: \(mode), head \(heads[0].name): timing")
            let fresh = try BackboneFeatures(model: model(mode.precision), threads: threads)
            let features: any FeatureExtractor
            if mode.clipStride == 1 && !first.visualIsMaxPooled && kept[mode.precision] == nil {
                let c = ReplayedFeatures(fresh); kept[mode.precision] = c; features = c
            } else {
                features = fresh
            }
            timed.append(try SpeedComparison.run(input, mode: mode, head: first.head, features: features, threads: threads))
        }
        let exactIndex = modes.firstIndex(of: .exact)!

        // 2. Accuracy of every head: features of each precision computed once and shared by the heads and strides.
        struct HeadAccuracy { let head: String; let mode: SpeedMode; let accuracy: SpeedComparison.Accuracy }
        var accuracies: [HeadAccuracy] = modes.indices.map { HeadAccuracy(head: heads[0].name, mode: modes[$0],
                                                                          accuracy: SpeedComparison.accuracy(timed[$0], exact: timed[exactIndex])) }
        if heads.count > 1 {
            var caches: [String: ReplayedFeatures] = [:]
            for spec in heads.dropFirst() {
                let headPath = present.first { $0.0 == spec }!.1
                let headModel = EmotionModel(first, head: try FusionHeads.load(spec, path: headPath), headPath: headPath)
                var runs: [SpeedComparison.Run] = []
                for mode in modes {
                    log("emopipe bench: \(mode), head \(spec.name): accuracy")
                    let layer4 = try kept[mode.precision] ?? ReplayedFeatures(try BackboneFeatures(model: model(mode.precision), threads: threads))
                    kept[mode.precision] = layer4
                    let key = "\(mode.precision.rawValue)-\(headModel.visualIsMaxPooled)"
                    let cache = caches[key] ?? (headModel.visualIsMaxPooled ? ReplayedFeatures(maxPooledFrom: layer4) : layer4)
                    caches[key] = cache
                    runs.append(try SpeedComparison.run(input, mode: mode, head: headModel.head, features: cache, threads: threads))
                }
                let exact = runs[exactIndex]
                for (i, r) in runs.enumerated() { accuracies.append(HeadAccuracy(head: spec.name, mode: modes[i], accuracy: SpeedComparison.accuracy(r, exact: exact))) }
            }
        }

        // Report.
        let exactSeconds = timed[exactIndex].seconds
        if json {
            var items: [String] = []
            for (i, r) in timed.enumerated() {
                let heads = accuracies.filter { $0.mode == modes[i] }.map { a in
                    String(format: "{\"head\":\"%@\",\"smoothed_max_abs\":[%.5f,%.5f],\"smoothed_ccc\":[%.5f,%.5f],\"raw_max_abs\":[%.5f,%.5f],\"raw_ccc\":[%.5f,%.5f],\"within_bound\":%@}",
                           a.head, a.accuracy.smoothedMaxAbs[0], a.accuracy.smoothedMaxAbs[1], a.accuracy.smoothedCCC[0], a.accuracy.smoothedCCC[1],
                           a.accuracy.rawMaxAbs[0], a.accuracy.rawMaxAbs[1], a.accuracy.rawCCC[0], a.accuracy.rawCCC[1], a.accuracy.withinBound ? "true" : "false")
                }
                items.append(String(format: "{\"mode\":\"%@\",\"precision\":\"%@\",\"clip_stride\":%d,\"kernel\":\"%@\",\"pipeline_s\":%.3f,\"pipeline_frames_per_s\":%.3f,\"end_to_end_frames_per_s\":%.3f,\"visual_ms_per_frame\":%.3f,\"speedup_vs_exact\":%.3f,\"clips_computed\":%d,\"clips_black\":%d,\"clips_interpolated\":%d,\"reused_work\":%.4f,\"accuracy\":[%@]}",
                                    modes[i].argument, modes[i].precision.rawValue, modes[i].clipStride, KernelDispatch.kernelName(modes[i].precision),
                                    r.seconds, Double(n) / r.seconds, Double(n) / (r.seconds + input.readSeconds),
                                    1000 * r.timings[.visualBackbone] / Double(n), exactSeconds / r.seconds,
                                    r.clips.computed, r.clips.black, r.clips.interpolated, r.reusedWork, heads.joined(separator: ",")))
            }
            print(String(format: "{\"input\":\"%@\",\"frames\":%d,\"frames_with_face\":%d,\"read_s\":%.3f,\"threads\":%d,\"cpu\":\"%@\",\"kernels\":\"%@\",\"modes\":[%@]}",
                         path, n, faces, input.readSeconds, threads, KernelDispatch.cpuName, KernelDispatch.summary, items.joined(separator: ",")))
            return
        }
        print(Self.cpuLine)
        print(KernelDispatch.summary)
        print(String(format: "%@: %d frames (%d with a face); decode + face path %.1f s (%.1f frames/s, the same for every mode); %d thread(s)",
                     path, n, faces, input.readSeconds, Double(n) / input.readSeconds, threads))
        print("mode          pipeline s  frames/s (pipeline / end to end)  visual ms/frame  vs exact  clips computed/black/interpolated  reused")
        for (i, r) in timed.enumerated() {
            print(modes[i].argument.padding(toLength: 13, withPad: " ", startingAt: 0)
                  + String(format: " %10.2f  %8.2f / %-8.2f                %15.2f  %7.2f×  %8d / %d / %d", r.seconds, Double(n) / r.seconds,
                           Double(n) / (r.seconds + input.readSeconds), 1000 * r.timings[.visualBackbone] / Double(n),
                           exactSeconds / r.seconds, r.clips.computed, r.clips.black, r.clips.interpolated)
                  + String(format: "  %8.1f %%", 100 * r.reusedWork))
        }
        print("accuracy against exact mode (valence, arousal): smoothed max|Δ| and CCC (bound: ≤ 0.02 and ≥ 0.99), raw max|Δ| and CCC")
        print("mode          head  smoothed max|Δ|    smoothed CCC         raw max|Δ|         raw CCC              bound")
        for a in accuracies where a.mode != .exact {
            let x = a.accuracy
            print(a.mode.argument.padding(toLength: 13, withPad: " ", startingAt: 0) + " " + a.head.padding(toLength: 5, withPad: " ", startingAt: 0)
                  + String(format: " %.4f %.4f    %.5f %.5f    %.4f %.4f    %.5f %.5f    %@", x.smoothedMaxAbs[0], x.smoothedMaxAbs[1],
                           x.smoothedCCC[0], x.smoothedCCC[1], x.rawMaxAbs[0], x.rawMaxAbs[1], x.rawCCC[0], x.rawCCC[1], x.withinBound ? "within" : "OUTSIDE"))
        }
    }
}
