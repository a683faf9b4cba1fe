import Foundation
import Kernels
import TestSupport
import Testing
@testable import Checkpoint

/// The compiled-in key lists, and checking/inferring the kind of a state dict from them.
@Suite struct ExpectedKeysTests {
    /// The lists the converter checks against are exactly shared/parity's files (names, shapes, dtypes, order).
    @Test(.enabled(if: TestPaths.parityAvailable))
    func listsEqualSharedParity() throws {
        #expect(try ExpectedKeys.tsav() == TestPaths.parityKeys("tsav.keys.txt"))
        for h in ExpectedKeys.headNames {
            #expect(try ExpectedKeys.head(h) == TestPaths.parityKeys("head_\(h).keys.txt"), "\(h)")
        }
    }

    @Test func everyListParses() throws {
        #expect(ExpectedKeys.tsav().count == 344)
        #expect(ExpectedKeys.tsav().first?.shape == [64, 1, 7, 7])
        for h in ExpectedKeys.headNames { #expect(try !ExpectedKeys.head(h).isEmpty) }
    }

    /// A state dict with exactly the given names/shapes (no data: only names, shapes and dtypes are checked).
    static func state(_ keys: [StateDictKey]) -> StateDict {
        StateDict(tensors: keys.map { StateDict.Tensor(name: $0.name, dtype: $0.dtype == "int64" ? .int64 : .float32, shape: $0.shape, bytes: []) })
    }

    @Test func infersEachHeadFromItsKeySet() throws {
        for h in ExpectedKeys.headNames {
            let keys = try ExpectedKeys.head(h)
            let (kind, head) = try WeightsConversion.infer(keys.map(\.name).reversed(), kind: nil, head: nil, source: "x")
            #expect(kind == .head && head == h)
            #expect(try WeightsConversion.check(Self.state(keys), against: keys, what: h, source: "x").map(\.name) == keys.map(\.name))
        }
    }

    @Test func infersTSAVFromItsPrefixes() throws {
        let keys = ExpectedKeys.tsav()
        let (kind, head) = try WeightsConversion.infer(keys.map(\.name), kind: nil, head: nil, source: "x")
        #expect(kind == .tsav && head == nil)
        let ordered = try WeightsConversion.check(Self.state(keys.reversed()), against: keys, what: "TSAV", source: "x")
        #expect(ordered.map(\.name) == keys.map(\.name))  // official order, whatever the file's order
    }

    @Test func unknownNamesAreAnErrorNamingTheClosestHead() throws {
        var names = try ExpectedKeys.head("dca").map(\.name)
        names.removeLast()
        names.append("something.else")
        let error = #expect(throws: CheckpointError.self) {
            _ = try WeightsConversion.infer(names, kind: nil, head: nil, source: "f.pt")
        }
        #expect(error?.description.contains("closest is head dca with 1 missing") == true)
        #expect(error?.description.contains("something.else") == true)
    }

    @Test func wrongShapeDtypeOrNamesAreErrors() throws {
        let keys = try ExpectedKeys.head("jca")
        var shapes = keys
        shapes[0] = try SyntheticWeights.parseKeys("\(keys[0].name) 1024x512 float32")[0]
        #expect(throws: CheckpointError.self) { _ = try WeightsConversion.check(Self.state(shapes), against: keys, what: "jca", source: "x") }
        var dtypes = Self.state(keys)
        dtypes.tensors[1] = StateDict.Tensor(name: keys[1].name, dtype: .int64, shape: keys[1].shape, bytes: [])
        #expect(throws: CheckpointError.self) { _ = try WeightsConversion.check(dtypes, against: keys, what: "jca", source: "x") }
        #expect(throws: CheckpointError.self) {
            _ = try WeightsConversion.check(Self.state(Array(keys.dropLast())), against: keys, what: "jca", source: "x")
        }
        // TSAV's num_batches_tracked must stay int64; a float16 parameter is accepted (kept as F16).
        let tsav = ExpectedKeys.tsav()
        var half = Self.state(tsav)
        half.tensors[0] = StateDict.Tensor(name: tsav[0].name, dtype: .float16, shape: tsav[0].shape, bytes: [])
        #expect(throws: Never.self) { _ = try WeightsConversion.check(half, against: tsav, what: "TSAV", source: "x") }
        let counter = tsav.firstIndex { $0.dtype == "int64" }!
        var floatCounter = Self.state(tsav)
        floatCounter.tensors[counter] = StateDict.Tensor(name: tsav[counter].name, dtype: .float32, shape: [], bytes: [])
        #expect(throws: CheckpointError.self) { _ = try WeightsConversion.check(floatCounter, against: tsav, what: "TSAV", source: "x") }
    }

    @Test func headOptionsAreChecked() throws {
        #expect(throws: CheckpointError.self) { _ = try WeightsConversion.infer(["a"], kind: .tsav, head: "jca", source: "x") }
        #expect(throws: CheckpointError.self) { _ = try WeightsConversion.infer(["a"], kind: nil, head: "nope", source: "x") }
        let (kind, head) = try WeightsConversion.infer(["a"], kind: nil, head: "jmt", source: "x")
        #expect(kind == .head && head == "jmt")
    }
}
