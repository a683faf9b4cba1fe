import Foundation
import Testing
import Kernels
import TestSupport

@Suite struct SafeTensorsTests {
    @Test func roundTripKeepsValuesShapesAndMetadata() throws {
        let dir = TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let a = Tensor(shape: [2, 3], values: [1, -2, 3.5, 0, .infinity, -0.25])
        var w = SafeTensorsWriter(metadata: ["kind": "test", "quote": "a\"b"])
        w.add("a", a)
        w.add(.init("steps", int64: [7, -1], shape: [2]))
        w.add("empty", Tensor(zeros: [0, 4]))
        let path = dir.appendingPathComponent("x.safetensors").path
        try w.write(to: path)
        let f = try SafeTensorsFile(path: path)
        #expect(f.metadata == ["kind": "test", "quote": "a\"b"])
        #expect(f.names == ["a", "steps", "empty"] || f.names == ["empty", "a", "steps"] || f.names.count == 3)
        #expect(try f.tensor("a").array == a.array)
        #expect(try f.tensor("a").shape == [2, 3])
        #expect(try f.int64s("steps") == [7, -1])
        #expect(try f.tensor("empty").shape == [0, 4])
        #expect(throws: SafeTensorsError.self) { try f.tensor("missing") }
    }

    /// Fault 10: a file whose tensors are all empty (a zero dimension after non-zero ones, no data bytes at all) used to
    /// be refused as "declares more elements than the file holds"; it is a valid file of empty tensors.
    @Test func allEmptyTensorsAreValid() throws {
        var w = SafeTensorsWriter()
        w.add("a", Tensor(zeros: [512, 0]))
        w.add("b", Tensor(zeros: [3, 0, 2]))
        w.add("c", Tensor(zeros: [0]))
        let f = try SafeTensorsFile(data: try w.serialized(), path: "empty.safetensors")
        #expect(try f.tensor("a").shape == [512, 0])
        #expect(try f.tensor("b").count == 0)
        #expect(try f.firstNonFinite("a") == nil)
        // Hostile: a huge shape with a zero in it is empty; without the zero it is still refused.
        let header = #"{"x":{"dtype":"F32","shape":[2147483646,2147483646,0],"data_offsets":[0,0]}}"#
        #expect(try SafeTensorsFile(data: Self.file(header)).entries["x"]?.count == 0)
        let huge = #"{"x":{"dtype":"F32","shape":[2147483646,2147483646,2],"data_offsets":[0,0]}}"#
        #expect(throws: SafeTensorsError.self) { try SafeTensorsFile(data: Self.file(huge)) }
    }

    static func file(_ header: String) -> Data {
        var d = Data()
        var n = UInt64(header.utf8.count).littleEndian
        withUnsafeBytes(of: &n) { d.append(contentsOf: $0) }
        d.append(contentsOf: Array(header.utf8))
        return d
    }

    @Test func finitenessChecks() throws {
        let t = Tensor(shape: [40], values: (0..<40).map { Float($0) })
        #expect(t.firstNonFinite() == nil)
        for (i, v) in [(0, Float.nan), (17, .infinity), (39, -.infinity), (33, -Float.nan)] {
            let u = t.copy()
            u[i] = v
            #expect(u.firstNonFinite() == i)
            var w = SafeTensorsWriter()
            w.add("u", u)
            #expect(try SafeTensorsFile(data: try w.serialized()).firstNonFinite("u") == i)
        }
        #expect(Tensor(shape: [2], values: [.greatestFiniteMagnitude, -.leastNonzeroMagnitude]).firstNonFinite() == nil)
    }

    @Test func halfAndBFloatConvert() throws {
        // 1.0, -2.0, 65504 (max half), 2^-24 (smallest subnormal), as F16; 1.0 and -3.0 as BF16.
        let halfs: [UInt16] = [0x3C00, 0xC000, 0x7BFF, 0x0001]
        let bf: [UInt16] = [0x3F80, 0xC040]
        var w = SafeTensorsWriter()
        w.add(.init(name: "h", dtype: .f16, shape: [4], bytes: halfs.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }))
        w.add(.init(name: "b", dtype: .bf16, shape: [2], bytes: bf.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }))
        let f = try SafeTensorsFile(data: try w.serialized())
        #expect(try f.tensor("h").array == [1, -2, 65504, Float(bitPattern: 0x3380_0000)])
        #expect(try f.tensor("b").array == [1, -3])
    }

    /// Malformed and hostile files are errors, never crashes or out-of-bounds reads.
    @Test func malformedFilesAreRejected() throws {
        var w = SafeTensorsWriter()
        w.add("a", Tensor(shape: [4], values: [1, 2, 3, 4]))
        let good = try w.serialized()
        func header(_ json: String, data: Int = 16) -> Data {
            var bytes = Array(json.utf8)
            var n = UInt64(bytes.count).littleEndian
            var d = Data(bytes: &n, count: 8)
            d.append(contentsOf: bytes)
            bytes = [UInt8](repeating: 0, count: data)
            d.append(contentsOf: bytes)
            return d
        }
        var cases: [Data] = [
            Data(), Data([1, 2, 3]),
            Data([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F]) + Data(count: 10),   // absurd header length
            header("not json"), header("[1,2]"),
            header(#"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,64]}}"#),         // past the end
            header(#"{"a":{"dtype":"F32","shape":[5],"data_offsets":[0,16]}}"#),         // size mismatch
            header(#"{"a":{"dtype":"Q4","shape":[4],"data_offsets":[0,16]}}"#),          // unknown dtype
            header(#"{"a":{"dtype":"F32","shape":[-4],"data_offsets":[0,16]}}"#),        // negative dim
            header(#"{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,16]}}"#),
            header(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#),
            header(#"{"a":{"dtype":"F32","shape":[4],"data_offsets":[16,0]}}"#),
            header(#"{"__metadata__":{"x":1}}"#),
            header(String(repeating: "[", count: 100_000)),
        ]
        // Every truncation of a good file.
        for n in stride(from: 0, to: good.count - 1, by: 3) { cases.append(good.prefix(n)) }
        for c in cases {
            #expect(throws: SafeTensorsError.self) { _ = try SafeTensorsFile(data: c) }
        }
        // Bit flips anywhere never crash (they may or may not be valid).
        for i in 0..<good.count {
            var d = good
            d[i] ^= 0x41
            if let f = try? SafeTensorsFile(data: d) { for n in f.names { _ = try? f.tensor(n) } }
        }
    }
}

@Suite struct SyntheticWeightsTests {
    @Test func fnvAndStreamAreStable() {
        #expect(SyntheticWeights.fnv1a64("") == 0xCBF2_9CE4_8422_2325)
        #expect(SyntheticWeights.fnv1a64("a") == 0xAF63_DC4C_8601_EC8C)
        let v = SyntheticWeights.uniform("x", count: 1000)
        #expect(v.allSatisfy { $0 >= -1 && $0 < 1 })
    }

    /// The parity inputs were made by the same generator: reproducing them checks the rule bit for bit.
    @Test(.enabled(if: TestPaths.parityAvailable)) func reproducesParityInputs() throws {
        let f = try TestPaths.parityFile("audio_backbone.golden.safetensors")
        let ref = try f.tensor("input")
        let ours = SyntheticWeights.uniformTensor("input:spectrograms", shape: ref.shape, scale: 2)
        #expect(ours.array == ref.array)
        let m = try TestPaths.parityFile("metrics.golden.safetensors")
        let pred = SyntheticWeights.uniformTensor("input:metric_pred", shape: [1000], scale: 1.2)
        #expect(pred.array == (try m.tensor("pred")).array)
    }

    @Test(.enabled(if: TestPaths.parityAvailable)) func keysFilesParse() throws {
        let keys = try TestPaths.parityKeys("tsav.keys.txt")
        #expect(keys.count > 300)
        #expect(keys.first { $0.name == "video_model.r2plus1d.stem.0.weight" }?.shape == [45, 4, 1, 7, 7])
        #expect(keys.contains { $0.dtype == "int64" && $0.shape.isEmpty })
    }
}
