import Foundation
import Testing
import Kernels
import Models
import TestSupport

/// A weights file for `keys` by the synthetic rule (salt ""), opened from memory.
func syntheticWeightsFile(_ keys: [StateDictKey], head: String?) throws -> SafeTensorsFile {
    let w = SyntheticWeights.writer(for: keys, salt: "", metadata: head.map { ["head": $0] } ?? [:])
    return try SafeTensorsFile(data: try w.serialized(), path: "<synthetic \(head ?? "weights")>")
}

/// Every head against `shared/parity/heads.golden.safetensors` (reference PyTorch modules, synthetic weights).
@Suite(.serialized) struct HeadsParityTests {
    @Test(.enabled(if: TestPaths.parityAvailable), arguments: HeadKind.allCases)
    func matchesGolden(kind: HeadKind) throws {
        let golden = try TestPaths.parityFile("heads.golden.safetensors")
        let keys = try TestPaths.parityKeys("head_\(kind.rawValue).keys.txt")
        let head = try FusionHeads.load(kind.spec, file: try syntheticWeightsFile(keys, head: kind.rawValue))
        let audio = try golden.tensor("audio")
        let visual = try golden.tensor(kind == .jmt ? "visual512" : "visual")
        let (valence, arousal) = try head.forward(audio: audio, visual: visual, threads: 2)
        let refV = try golden.tensor("\(kind.rawValue).valence"), refA = try golden.tensor("\(kind.rawValue).arousal")
        #expect(valence.shape == refV.shape)
        #expect(arousal.shape == refA.shape)
        let pv = parity(valence, refV), pa = parity(arousal, refA)
        print("head \(kind.rawValue): valence \(pv); arousal \(pa); valence[0,0..<4] = \(Array(valence.array.prefix(4)))")
        #expect(pv.passed, "\(kind) valence: \(pv)")
        #expect(pa.passed, "\(kind) arousal: \(pa)")
    }

    /// The key list generated from the layer structure equals the official one (names, shapes and order).
    @Test(.enabled(if: TestPaths.parityAvailable), arguments: HeadKind.allCases)
    func expectedKeysEqualParityKeys(kind: HeadKind) throws {
        let official = try TestPaths.parityKeys("head_\(kind.rawValue).keys.txt")
        let ours = FusionHeads.expectedKeys(kind.spec)
        #expect(ours.map { "\($0.name) \($0.shape)" } == official.map { "\($0.name) \($0.shape)" })
        #expect(official.allSatisfy { $0.dtype == "float32" })
    }

    /// Parameter counts equal those the reference generator recorded (`parameters` in the golden file's metadata).
    @Test(.enabled(if: TestPaths.parityAvailable)) func parameterCountsMatchReference() throws {
        let meta = try TestPaths.parityFile("heads.golden.safetensors").metadata["parameters"] ?? "{}"
        let counts = try JSONSerialization.jsonObject(with: Data(meta.utf8)) as? [String: Int] ?? [:]
        #expect(counts.count == HeadKind.allCases.count)
        for kind in HeadKind.allCases {
            let ours = kind.expectedParameters.reduce(0) { $0 + $1.shape.reduce(1, *) }
            #expect(ours == counts[kind.rawValue], "\(kind)")
        }
    }
}
