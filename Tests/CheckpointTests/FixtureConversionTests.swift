import Foundation
import Kernels
import TestSupport
import Testing
@testable import Checkpoint

/// Checkpoints written by real torch.save (tools/make_checkpoint_fixtures.py) must give exactly the tensors
/// PyTorch loads: same names in the same order, dtypes, shapes and bytes.
@Suite struct FixtureConversionTests {
    @Test(arguments: CheckpointFixtures.converted.map(\.file))
    func convertsExactlyWhatTorchLoads(file: String) throws {
        let expectedName = CheckpointFixtures.converted.first { $0.file == file }!.expected
        let checkpoint = try TorchCheckpoint(path: CheckpointFixtures.path(file))
        #expect(checkpoint.format == (file.contains("legacy") ? .legacy : .zip))
        let state = try StateDict(checkpoint)
        let expected = try SafeTensorsFile(path: CheckpointFixtures.path(expectedName + ".expected.safetensors"))
        #expect(state.names == expected.names)
        for t in state.tensors {
            let e = try expected.entry(t.name)
            #expect(WeightsConversion.safetensorsDType(t.dtype) == e.dtype, "\(file) \(t.name) dtype")
            #expect(t.shape == e.shape, "\(file) \(t.name) shape")
            #expect(t.bytes == (try expected.rawBytes(t.name)), "\(file) \(t.name) values")
        }
    }

    @Test func wrappersAndPrefixes() throws {
        let nested = try StateDict(TorchCheckpoint(path: CheckpointFixtures.path("nested.legacy.pt")))
        #expect(nested.wrapperPath == ["state_dict"])
        #expect(nested.strippedModulePrefixes == 15)
        #expect(nested.names.contains("head.inner.weight"))
        #expect(nested.names.allSatisfy { !$0.hasPrefix("module.") })

        let net = try StateDict(TorchCheckpoint(path: CheckpointFixtures.path("net.zip.pt")))
        #expect(net.wrapperPath == ["net"])
        #expect(net.strippedModulePrefixes == 0)
        #expect(Set(net.tensors.map(\.dtype)) == [.float32, .bfloat16, .float64, .int32, .uint8, .bool, .int64])

        let bare = try StateDict(TorchCheckpoint(path: CheckpointFixtures.path("bare.zip.pt")))
        #expect(bare.wrapperPath.isEmpty)
        #expect(bare.names.first == "0.weight")
        #expect(bare.names.contains("1.num_batches_tracked"))
    }

    /// The top-level extras beside the weights (numpy and Python floats, ints, strings) are read as data.
    @Test func extrasBesideTheWeightsAreData() throws {
        let checkpoint = try TorchCheckpoint(path: CheckpointFixtures.path("net.zip.pt"))
        guard case .dict(let top) = checkpoint.root else { Issue.record("root is not a dict"); return }
        guard case .numpyScalar(let code, let raw)? = top["best_Val_accV"] else { Issue.record("best_Val_accV"); return }
        #expect(code == "f8")
        #expect(raw == withUnsafeBytes(of: (0.4 as Double).bitPattern.littleEndian) { Array($0) })
        guard case .float(0.3)? = top["best_Val_accA"], case .int(5)? = top["best_Val_acc_epoch"] else {
            Issue.record("plain extras"); return
        }
    }

    /// Objects of other classes beside the weights: refused by name by default; with the opt-in they are inert
    /// placeholders, the weights convert exactly, and a placeholder inside the state dict is skipped.
    @Test(arguments: ["extras.zip.pt", "extras.legacy.pt"])
    func unknownObjectsBesideTheWeights(file: String) throws {
        let error = #expect(throws: CheckpointError.self) { _ = try TorchCheckpoint(path: CheckpointFixtures.path(file)) }
        #expect(error?.description.contains("refusing to load argparse.Namespace") == true)
        var limits = PickleLimits()
        limits.keepUnknownObjectsInert = true
        let checkpoint = try TorchCheckpoint(path: CheckpointFixtures.path(file), limits: limits)
        guard case .dict(let top) = checkpoint.root, case .opaque("argparse.Namespace")? = top["args"] else {
            Issue.record("args is not a placeholder"); return
        }
        let state = try StateDict(checkpoint)
        let expected = try SafeTensorsFile(path: CheckpointFixtures.path("extras.expected.safetensors"))
        #expect(state.names == expected.names)
        for t in state.tensors { #expect(t.bytes == (try expected.rawBytes(t.name)), "\(t.name)") }
        #expect(state.skipped == ["note: argparse.Namespace object"])
    }

    /// Even with placeholders allowed, a pickled module is not weights, and a call like os.system is not made.
    @Test func placeholdersNeverPassAsWeights() throws {
        var limits = PickleLimits()
        limits.keepUnknownObjectsInert = true
        let error = #expect(throws: CheckpointError.self) {
            _ = try StateDict(TorchCheckpoint(path: CheckpointFixtures.path("whole_module.pt"), limits: limits))
        }
        #expect(error?.description.contains("torch.nn.modules.linear.Linear object, not a dict") == true)
        var p = PickleBuilder()
        p.op(0x7D); p.string("x"); p.global("os", "system"); p.string("touch /tmp/emopipe-pwned-2"); p.op(0x85, 0x52, 0x73); p.stop()
        let data = Data(legacyFile(object: p.bytes, storages: []))
        #expect(throws: CheckpointError.self) { _ = try StateDict(TorchCheckpoint(data: data, path: "evil", limits: limits)) }
        #expect(!FileManager.default.fileExists(atPath: "/tmp/emopipe-pwned-2"))
    }

    @Test func aWholePickledModuleIsRefusedByName() throws {
        let error = #expect(throws: CheckpointError.self) {
            _ = try TorchCheckpoint(path: CheckpointFixtures.path("whole_module.pt"))
        }
        #expect(error?.description.contains("torch.nn.modules.linear.Linear") == true)
    }

    /// Passing the downloaded archive (deflated zip) or a tar file instead of the checkpoint says what to do.
    @Test func archivesAreNamedAsSuch() throws {
        let error = #expect(throws: CheckpointError.self) { _ = try TorchCheckpoint(path: CheckpointFixtures.path("archive.zip")) }
        #expect(error?.description.contains("unzip it and convert the checkpoint inside") == true)
        #expect(error?.description.contains("model2/net.legacy.pt") == true)
        var tar = [UInt8](repeating: 0, count: 1024)
        tar.replaceSubrange(0..<8, with: Array("file.pt\0".utf8))
        tar.replaceSubrange(257..<263, with: Array("ustar\0".utf8))
        let tarError = #expect(throws: CheckpointError.self) { _ = try TorchCheckpoint(data: Data(tar), path: "old.tar") }
        #expect(tarError?.description.contains("tar archive") == true)
    }

    @Test func aDictWithoutTensorsIsNotAStateDict() throws {
        let error = #expect(throws: CheckpointError.self) {
            _ = try StateDict(TorchCheckpoint(path: CheckpointFixtures.path("no_tensors.pt")))
        }
        #expect(error?.description.contains("no tensors") == true)
    }

    /// A hand-built legacy file (the builder the hostile tests use) reads back right, so those tests fail for
    /// the reason they state and not because the builder is wrong.
    @Test func handBuiltLegacyFileReads() throws {
        var p = PickleBuilder()
        p.op(0x7D)
        p.tensorItem("w", storage: "k", numel: 6, offset: 1, size: [2, 2], stride: [1, 2])
        p.stop()
        let file = legacyFile(object: p.bytes, storages: [("k", 6, floatBytes([0, 1, 2, 3, 4, 5]))])
        let state = try readStateDict(file)
        #expect(state.names == ["w"])
        #expect(state.tensors[0].bytes == floatBytes([1, 3, 2, 4]))
    }
}
