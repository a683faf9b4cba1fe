// The layer kinds MTCNN's three networks are made of (convolution + PReLU, dense + PReLU), the reader that takes their
// weights from a converted safetensors file, and the buffers a forward uses.
import Foundation
import Kernels

/// A face model file could not be used: the file, what is wrong, and the fix ("FILE: problem (remedy)").
public struct FaceModelError: Error, CustomStringConvertible, Sendable {
    public let file: String
    public let problem: String
    public let remedy: String

    public init(_ file: String, _ problem: String, remedy: String) {
        self.file = file; self.problem = problem; self.remedy = remedy
    }

    public var description: String { "\(file): \(problem) (\(remedy))" }
}

/// Reads one network's tensors by their facenet-pytorch state_dict names, checking each shape, and at the end that the
/// file held nothing else. Each name is written once, where the property that holds the tensor is initialised.
final class MTCNNWeightsReader {
    let file: SafeTensorsFile
    let network: String
    private var used = Set<String>()
    /// `make` checks the converted files against the sums it recorded and converts a changed one again.
    static let remedy = "run `make` in the emopipe checkout to fetch and convert the face detector's weights again"

    init(path: String, network: String) throws {
        do {
            file = try SafeTensorsFile(path: path)
        } catch {
            throw FaceModelError(path, "cannot read the \(network) weights: \(error)", remedy: Self.remedy)
        }
        self.network = network
    }

    func tensor(_ name: String, _ shape: [Int]) throws -> Tensor {
        guard let e = file.entries[name] else {
            throw FaceModelError(file.path, "no tensor \(name) \(Tensor.shapeString(shape)): not facenet-pytorch's \(network)", remedy: Self.remedy)
        }
        guard e.shape == shape else {
            throw FaceModelError(file.path, "\(name) has shape \(Tensor.shapeString(e.shape)), \(network) needs \(Tensor.shapeString(shape))", remedy: Self.remedy)
        }
        used.insert(name)
        do { return try file.tensor(name) } catch {
            throw FaceModelError(file.path, "\(name): \(error)", remedy: Self.remedy)
        }
    }

    /// Throws when the file holds tensors no property asked for (another network's file, or a different model).
    func finish() throws {
        let extra = file.names.filter { !used.contains($0) }
        guard extra.isEmpty else {
            throw FaceModelError(file.path, "unexpected tensors \(extra.prefix(3).joined(separator: ", ")) for \(network)", remedy: Self.remedy)
        }
    }
}

/// Convolution (bias) followed by a per-channel PReLU: `convN` + `preluN` of facenet-pytorch's networks.
struct ConvPReLU: Sendable {
    let conv: Conv3D
    /// (C_out) PReLU slopes.
    let slopes: Tensor

    init(_ r: MTCNNWeightsReader, conv name: String, prelu: String, _ shape: [Int]) throws {
        conv = Conv3D.conv2D(weight: try r.tensor(name + ".weight", shape), bias: try r.tensor(name + ".bias", [shape[0]]))
        slopes = try r.tensor(prelu + ".weight", [shape[0]])
    }

    var outChannels: Int { conv.geometry.outChannels }

    /// y = prelu(conv(x)); returns y's shape.
    func forward(_ x: UnsafePointer<Float>, _ s: ActivationShape, into y: UnsafeMutablePointer<Float>, scratch: ScratchBuffer,
                 threads: Int) -> ActivationShape {
        let o = conv.forward(x, s, into: y, relu: false, scratch: scratch, threads: threads)
        PReLU.apply(y, rows: o.positions, channels: o.c, slopes: slopes.pointer)
        return o
    }
}

/// A dense layer followed by a per-channel PReLU on the flattened last feature map: R-Net's `dense4` + `prelu4`, O-Net's
/// `dense5` + `prelu5`. The weight's columns are reordered once at load for (H, W, C) activations
/// (`columnsFromWHCtoHWC`).
struct DensePReLU: Sendable {
    let dense: Dense
    /// (out) PReLU slopes.
    let slopes: Tensor

    /// `map`: the (height, width, channels) of the feature map it reads.
    init(_ r: MTCNNWeightsReader, dense name: String, prelu: String, outputs: Int, map: (h: Int, w: Int, c: Int)) throws {
        let weight = try r.tensor(name + ".weight", [outputs, map.h * map.w * map.c])
        dense = Dense(weight: columnsFromWHCtoHWC(weight, height: map.h, width: map.w, channels: map.c),
                      bias: try r.tensor(name + ".bias", [outputs]))
        slopes = try r.tensor(prelu + ".weight", [outputs])
    }
}

/// The shape R-Net and O-Net share: square crops through convolutions + PReLU, each but the last followed by a max
/// pool of stride 2 (ceil mode), the last feature map into a dense layer + PReLU, then the output layers joined into
/// one product. `RNet` and `ONet` declare their layers as an `Architecture` (each weight name once); this loads and
/// runs them.
struct CropNetwork: Sendable {
    /// A network's layers as data: facenet-pytorch's weight names, their shapes and the pools.
    struct Architecture: Sendable {
        /// `conv` (weight [out, in, k, k], bias) + `prelu`, then a max pool of kernel `pool` (nil for the last).
        struct Convolution: Sendable {
            let conv: String, prelu: String, shape: [Int], pool: Int?
            init(_ conv: String, _ prelu: String, _ shape: [Int], pool: Int?) {
                (self.conv, self.prelu, self.shape, self.pool) = (conv, prelu, shape, pool)
            }
        }
        /// An output layer (`name`.weight [size, hidden], `name`.bias).
        struct Output: Sendable {
            let name: String, size: Int
            init(_ name: String, _ size: Int) { (self.name, self.size) = (name, size) }
        }
        let name: String
        let inputSize: Int
        let convolutions: [Convolution]
        /// The dense layer on the last feature map and its PReLU; `hidden` outputs.
        let dense: String, densePReLU: String, hidden: Int
        /// Joined in this order: the face logits (2) first, then the box regression (4), then any others.
        let outputs: [Output]
    }

    /// A convolution + PReLU and the kernel of the max pool after it (nil for the last convolution).
    struct Stage: Sendable {
        let conv: ConvPReLU
        let pool: Int?
    }

    let inputSize: Int
    let stages: [Stage]
    let hidden: DensePReLU
    /// The output layers joined (`JoinedLayers`): per crop, face logits 0–1, regression 2–5, then any others.
    let output: Dense
    /// The largest activation of one crop (the size of each of the workspace's two buffers, per crop).
    private let floatsPerCrop: Int

    /// Reads `architecture`'s weights from `path` (a safetensors file holding those tensors and nothing else).
    init(_ a: Architecture, path: String) throws {
        let r = try MTCNNWeightsReader(path: path, network: a.name)
        let stages = try a.convolutions.map { Stage(conv: try ConvPReLU(r, conv: $0.conv, prelu: $0.prelu, $0.shape), pool: $0.pool) }
        let (map, most) = Self.featureMap(a.name, stages, inputSize: a.inputSize)
        let hidden = try DensePReLU(r, dense: a.dense, prelu: a.densePReLU, outputs: a.hidden, map: (map.h, map.w, map.c))
        let joined = JoinedLayers.stack(try a.outputs.map {
            (try r.tensor($0.name + ".weight", [$0.size, a.hidden]), try r.tensor($0.name + ".bias", [$0.size]))
        })
        try r.finish()
        inputSize = a.inputSize
        self.stages = stages
        self.hidden = hidden
        output = Dense(weight: joined.weight, bias: joined.bias)
        floatsPerCrop = max(most, hidden.dense.outFeatures, output.outFeatures)
    }

    /// The last feature map of one crop, and the largest activation on the way.
    private static func featureMap(_ name: String, _ stages: [Stage], inputSize: Int) -> (ActivationShape, Int) {
        precondition(!stages.isEmpty && stages.dropLast().allSatisfy { $0.pool != nil } && stages.last!.pool == nil,
                     "\(name): every convolution but the last is pooled")
        var s = ActivationShape(n: 1, h: inputSize, w: inputSize, c: 3), most = 0
        for stage in stages {
            guard let o = stage.conv.conv.outputShape(s) else { preconditionFailure("\(name): \(stage.conv.conv.geometry) cannot take \(s)") }
            s = o
            most = max(most, s.count)
            if let k = stage.pool {
                s.h = Pooling.pooledSize(s.h, kernel: k, stride: 2, padding: 0, ceilMode: true)
                s.w = Pooling.pooledSize(s.w, kernel: k, stride: 2, padding: 0, ceilMode: true)
            }
        }
        return (s, most)
    }

    /// Runs `count` crops (count × inputSize × inputSize × 3, normalised). Returns count rows of `output.outFeatures`
    /// floats, living in `workspace` until its next use.
    func forward(_ x: UnsafePointer<Float>, count: Int, workspace ws: MTCNNWorkspace, threads: Int) -> UnsafePointer<Float> {
        let a = ws.a.reserve(count * floatsPerCrop), b = ws.b.reserve(count * floatsPerCrop)
        var s = ActivationShape(n: count, h: inputSize, w: inputSize, c: 3)
        var input = x
        // Each convolution writes `a`, its pool `b`, which the next convolution reads; the last one's map stays in `a`.
        for stage in stages {
            s = stage.conv.forward(input, s, into: a, scratch: ws.scratch, threads: threads)
            if let k = stage.pool {
                s = Pooling.maxPool2D(a, s, kernel: k, stride: 2, padding: 0, ceilMode: true, into: b)
                input = UnsafePointer(b)
            }
        }
        hidden.dense.forward(a, rows: count, into: b, threads: threads)
        PReLU.apply(b, rows: count, channels: hidden.dense.outFeatures, slopes: hidden.slopes.pointer)
        output.forward(b, rows: count, into: a, threads: threads)
        return UnsafePointer(a)
    }
}

/// A fully connected layer y = x·Wᵀ + b (PyTorch's (out, in) weight) through `sgemm`.
struct Dense: Sendable {
    /// (out, in)
    let weight: Tensor
    /// (out)
    let bias: Tensor

    var inFeatures: Int { weight.shape[1] }
    var outFeatures: Int { weight.shape[0] }

    /// `rows` rows of x (rows × in) into y (rows × out).
    func forward(_ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>, threads: Int) {
        guard rows > 0 else { return }
        for r in 0..<rows { (y + r * outFeatures).update(from: bias.pointer, count: outFeatures) }
        sgemm(transB: true, m: rows, n: outFeatures, k: inFeatures, a: x, lda: inFeatures, b: weight.pointer, ldb: inFeatures,
              beta: 1, c: y, ldc: outFeatures, threads: threads)
    }
}

/// Several output layers of the same input joined into one matrix product (rows of their weights stacked), e.g.
/// R-Net's `dense5_1` (face / not face) and `dense5_2` (box regression) as one 128 → 6 layer.
enum JoinedLayers {
    /// Stacks 2-D (out, in) weights or 4-D 1×1 convolution weights along the output axis; biases likewise.
    static func stack(_ parts: [(weight: Tensor, bias: Tensor)]) -> (weight: Tensor, bias: Tensor) {
        let inner = parts[0].weight.count / parts[0].weight.shape[0]
        let outs = parts.map { $0.weight.shape[0] }.reduce(0, +)
        var shape = parts[0].weight.shape
        shape[0] = outs
        let w = Tensor(zeros: shape), b = Tensor(zeros: [outs])
        var row = 0
        for p in parts {
            precondition(p.weight.count / p.weight.shape[0] == inner, "joined layers need the same input size")
            (w.pointer + row * inner).update(from: p.weight.pointer, count: p.weight.count)
            (b.pointer + row).update(from: p.bias.pointer, count: p.bias.count)
            row += p.weight.shape[0]
        }
        return (w, b)
    }
}

/// facenet-pytorch flattens R-Net's and O-Net's last feature maps after `permute(0, 3, 2, 1)`, i.e. in (W, H, C)
/// order, while emopipe's activations are (H, W, C): the dense weight's columns are reordered once at load so that
/// the product reads the activations as they are (the one checkpoint quirk of these networks).
func columnsFromWHCtoHWC(_ weight: Tensor, height: Int, width: Int, channels: Int) -> Tensor {
    let outs = weight.shape[0], ins = weight.shape[1]
    precondition(ins == height * width * channels, "dense input \(ins) ≠ \(height)×\(width)×\(channels)")
    let out = Tensor(zeros: weight.shape)
    for o in 0..<outs {
        let src = weight.pointer + o * ins, dst = out.pointer + o * ins
        for h in 0..<height {
            for w in 0..<width {
                for c in 0..<channels { dst[(h * width + w) * channels + c] = src[(w * height + h) * channels + c] }
            }
        }
    }
    return out
}

/// Two-class softmax probability of class 1 (face), as `nn.Softmax(dim=1)` computes it: exp(x − max) / Σ exp(x − max).
@inline(__always) func faceProbability(_ logit0: Float, _ logit1: Float) -> Float {
    let m = max(logit0, logit1)
    let e0 = expf(logit0 - m), e1 = expf(logit1 - m)
    return e1 / (e0 + e1)
}

/// Buffers of one forward: two activation buffers used in turn, the convolutions' scratch and the network inputs.
/// Owned by one detector call at a time (a tracker keeps one); grown on first use, reused afterwards.
public final class MTCNNWorkspace {
    let a = ScratchBuffer(), b = ScratchBuffer(), scratch = ScratchBuffer(), input = ScratchBuffer()
    /// The whole frame's summed-area table (a detection's pyramid and crops), when this detection built one.
    let table = SummedAreaTable()
    var tableIsCurrent = false
    var currentTable: SummedAreaTable? { tableIsCurrent ? table : nil }
    /// A crop extended with black beyond the frame (tracking refinement).
    let patch = BytePatch()
    public init() {}
}

/// A reusable byte buffer (grows, never shrinks); one user at a time.
final class BytePatch {
    private var storage: UnsafeMutablePointer<UInt8>?
    private var capacity = 0
    deinit { storage?.deallocate() }
    func reserveBytes(_ count: Int) -> UnsafeMutablePointer<UInt8> {
        if count > capacity || storage == nil {
            storage?.deallocate()
            storage = .allocate(capacity: max(1, count))
            capacity = max(1, count)
        }
        return storage!
    }
}
