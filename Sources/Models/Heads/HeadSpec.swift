import Foundation
import Kernels

/// Which fusion head to build: the seven with reference numbers, and the compositions of the IACA paper's
/// Table 2 ("CA w/ IACA", …) that follow from the same parts.
///
/// A JCA-family head is trunk → cross-attention block → fusion stage → two regressors:
/// - trunk: `.plain` (JCA: L2-normalise, audio-guided visual attention) or `.recurrent` (RJCA: audio and visual
///   BiLSTMs around the visual attention);
/// - block (`coattn.`): `.vanilla` (CA), `.transformer` (TCA) or `.joint(layers:)` (JCA/RJCA `DCNLayer`);
/// - fusion: `.jointLSTM` (Joint BiLSTM 1024→512), `.dynamicGate` (DCA gate, then Joint BiLSTM) or
///   `.twoStageGate` (IACA gate, regressors read it directly).
/// JMT is a different model (`JMTHead`).
public struct HeadSpec: Sendable, Hashable, CustomStringConvertible {
    public enum Trunk: Sendable, Hashable { case plain, recurrent }
    public enum Block: Sendable, Hashable { case vanilla, transformer, joint(layers: Int) }
    public enum Fusion: Sendable, Hashable { case jointLSTM, dynamicGate, twoStageGate }
    public enum Architecture: Sendable, Hashable {
        case crossAttention(trunk: Trunk, block: Block, fusion: Fusion)
        case jointMultimodalTransformer
    }

    public let architecture: Architecture

    public init(_ architecture: Architecture) { self.architecture = architecture }

    public init(trunk: Trunk, block: Block, fusion: Fusion) {
        self.init(.crossAttention(trunk: trunk, block: block, fusion: fusion))
    }

    /// The input the head expects for `visual`: the 25 088-d layer4 flatten, or its 512-d per-channel max (JMT).
    public var visualFeatures: Int {
        if case .jointMultimodalTransformer = architecture { return 512 }
        return AudioGuidedAttention.cells * AudioGuidedAttention.rowSize
    }

    /// The canonical name: one of the seven (`HeadKind`) when it is one, else `block+gate`.
    public var name: String {
        if let kind = HeadKind.allCases.first(where: { $0.spec == self }) { return kind.rawValue }
        guard case let .crossAttention(trunk, block, fusion) = architecture else { return "jmt" }
        let blockName: String
        switch (trunk, block) {
        case (.recurrent, .vanilla): blockName = "ca"
        case (.recurrent, .transformer): blockName = "tca"
        case (.plain, .vanilla): blockName = "ca-plain"
        case (.plain, .transformer): blockName = "tca-plain"
        case (.plain, .joint(let n)): blockName = n == 1 ? "jca" : "jca\(n)"
        case (.recurrent, .joint(let n)): blockName = "rjca\(n)"
        }
        switch fusion {
        case .jointLSTM: return blockName
        case .dynamicGate: return blockName + "+dca"
        case .twoStageGate: return blockName + "+iaca"
        }
    }

    public var description: String { name }

    /// Parses a head name: one of `ca jca rjca dca iaca tca jmt`, or `BLOCK+GATE` with BLOCK one of
    /// `ca tca jca rjca` (optionally with a layer count for the joint blocks: `rjca1`, `rjca3`, `jca2`) and
    /// GATE one of `dca iaca`. In a gated composition `rjca` means two stacked joint layers, as in the
    /// DCA and IACA models (`rjca+iaca` is `iaca`, `rjca+dca` is `dca`); ungated `rjca` has one, as published.
    public init?(name raw: String) {
        let text = raw.lowercased().trimmingCharacters(in: .whitespaces)
        if let kind = HeadKind(rawValue: text) { self = kind.spec; return }
        let parts = text.split(separator: "+", omittingEmptySubsequences: false).map(String.init)
        guard parts.count <= 2, let first = parts.first else { return nil }
        let fusion: Fusion
        if parts.count == 1 {
            fusion = .jointLSTM
        } else if parts[1] == "dca" {
            fusion = .dynamicGate
        } else if parts[1] == "iaca" {
            fusion = .twoStageGate
        } else {
            return nil
        }
        let gated = fusion != .jointLSTM
        func count(after prefix: String) -> Int? {
            let rest = first.dropFirst(prefix.count)
            if rest.isEmpty { return nil }
            guard let n = Int(rest), (1...8).contains(n) else { return 0 }
            return n
        }
        switch first {
        case "ca": self.init(trunk: .recurrent, block: .vanilla, fusion: fusion)
        case "tca": self.init(trunk: .recurrent, block: .transformer, fusion: fusion)
        case _ where first.hasPrefix("rjca"):
            let n = count(after: "rjca") ?? (gated ? 2 : 1)
            guard n > 0 else { return nil }
            self.init(trunk: .recurrent, block: .joint(layers: n), fusion: fusion)
        case _ where first.hasPrefix("jca"):
            let n = count(after: "jca") ?? 1
            guard n > 0 else { return nil }
            self.init(trunk: .plain, block: .joint(layers: n), fusion: fusion)
        default: return nil
        }
    }
}

/// The seven heads with reference numbers (`shared/parity/heads.golden.safetensors`).
public enum HeadKind: String, CaseIterable, Sendable {
    case ca, jca, rjca, dca, iaca, tca, jmt

    public var spec: HeadSpec {
        switch self {
        case .ca: .ca
        case .jca: .jca
        case .rjca: .rjca
        case .dca: .dca
        case .iaca: .iaca
        case .tca: .tca
        case .jmt: .jmt
        }
    }

    /// The head's parameters (official names and shapes), generated from its layer structure.
    public var expectedParameters: [StateDictKey] { FusionHeads.expectedParameters(spec) }
}
