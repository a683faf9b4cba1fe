import Foundation
import Kernels
import Models
import Testing
import TestSupport

/// R(2+1)D-18 in bf16 and int8 against the fp32 PyTorch golden (shared/parity): the error each mode costs at the
/// backbone's output, bounded here (docs/performance.md records the figures).
@Suite("Reduced-precision R(2+1)D-18 vs the fp32 golden", .serialized)
struct ReducedPrecisionBackboneTests {
    struct Error: CustomStringConvertible {
        let maxRelative: Double    // max |Δ| / max |ref|
        let rmsRelative: Double    // ‖Δ‖ / ‖ref‖
        let cosine: Double         // worst per-sample cosine similarity
        var description: String { String(format: "max|Δ|/max|ref| %.2e, ‖Δ‖/‖ref‖ %.2e, cosine ≥ %.6f", maxRelative, rmsRelative, cosine) }
    }

    static func error(_ ours: Tensor, _ ref: Tensor, samples: Int) -> Error {
        var maxDiff = 0.0, maxRef = 0.0, d2 = 0.0, r2 = 0.0, worstCos = 1.0
        let per = ref.count / samples
        for n in 0..<samples {
            var dot = 0.0, a2 = 0.0, b2 = 0.0
            for i in (n * per)..<((n + 1) * per) {
                let a = Double(ours[i]), b = Double(ref[i])
                maxDiff = max(maxDiff, abs(a - b)); maxRef = max(maxRef, abs(b))
                d2 += (a - b) * (a - b); r2 += b * b
                dot += a * b; a2 += a * a; b2 += b * b
            }
            worstCos = min(worstCos, dot / max(1e-300, (a2 * b2).squareRoot()))
        }
        return Error(maxRelative: maxDiff / max(maxRef, 1e-30), rmsRelative: (d2 / max(r2, 1e-300)).squareRoot(), cosine: worstCos)
    }

    @Test("bf16 and int8 stay close to the fp32 golden (layer4 and pooled)", .enabled(if: TestPaths.parityAvailable),
          arguments: [(Precision.bf16, 0.02, 0.995), (Precision.int8, 0.05, 0.99)])
    func golden(_ mode: (Precision, Double, Double)) throws {
        let (precision, rmsBound, cosineBound) = mode
        let golden = try TestPaths.parityFile("visual_backbone.golden.safetensors")
        let input = try golden.tensor("input"), layer4 = try golden.tensor("layer4"), pooled = try golden.tensor("pooled")
        let model = R2Plus1D18(SyntheticTSAV.visual, precision: precision)
        #expect(model.precision == precision)
        let out = try model.forward(input, threads: 2)
        let e4 = Self.error(out.layer4, layer4, samples: 2), ep = Self.error(out.pooled, pooled, samples: 2)
        #expect(e4.rmsRelative < rmsBound && e4.cosine > cosineBound, "\(precision) layer4: \(e4)")
        #expect(ep.rmsRelative < rmsBound && ep.cosine > cosineBound, "\(precision) pooled: \(ep)")
        // Not exact: a reduced mode that silently ran fp32 would pass the bounds above.
        #expect(e4.rmsRelative > 1e-5, "\(precision) layer4 equals fp32: the reduced kernels did not run")
        if ProcessInfo.processInfo.environment["EMOPIPE_REPORT"] != nil {
            FileHandle.standardError.write(Data("\(precision) layer4: \(e4)\n\(precision) pooled: \(ep)\n".utf8))
        }
    }

    @Test("ResNet-18 audio in bf16 and int8 stays close to the fp32 golden", .enabled(if: TestPaths.parityAvailable),
          arguments: [(Precision.bf16, 0.02, 0.995), (Precision.int8, 0.05, 0.99)])
    func audio(_ mode: (Precision, Double, Double)) throws {
        let (precision, rmsBound, cosineBound) = mode
        let golden = try TestPaths.parityFile("audio_backbone.golden.safetensors")
        let model = ResNet18(SyntheticTSAV.audio, precision: precision)
        #expect(model.precision == precision)
        let out = try model.forward(try golden.tensor("input"), threads: 2)
        let e = Self.error(out, try golden.tensor("features"), samples: 2)
        #expect(e.rmsRelative < rmsBound && e.cosine > cosineBound, "\(precision) audio features: \(e)")
        #expect(e.rmsRelative > 1e-5, "\(precision) equals fp32: the reduced kernels did not run")
        if ProcessInfo.processInfo.environment["EMOPIPE_REPORT"] != nil {
            FileHandle.standardError.write(Data("\(precision) audio features: \(e)\n".utf8))
        }
    }
}
