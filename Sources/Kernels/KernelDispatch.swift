import CKernels
import Foundation

/// Which micro-kernels run on this CPU, decided once per process from cpuid + xgetbv (`CKernels/cpu.c`).
///
/// The Swift numeric modules are compiled for x86-64-v3 (AVX2 + FMA), so one binary runs on any such CPU; the
/// matrix-product micro-kernels exist once per instruction set in the C target `CKernels` and are picked here:
///
/// | kernels | needs | fp32 GEMM | int8 GEMM | bf16 GEMM |
/// |---|---|---|---|---|
/// | `avx512` | AVX-512 F/BW/DQ/VL | 12×32 zmm FMA | 12×32 `vpdpbusd` if AVX512-VNNI, else AVX2 | 12×32 `vdpbf16ps` if AVX512-BF16, else AVX2 |
/// | `avx2` | AVX2 + FMA | 6×16 ymm FMA | 2×16 `vpmaddwd` | 4×16 ymm FMA emulation |
///
/// fp32 results are bit-identical between the two sets (same operations per element in the same order), and so
/// are int8 results (exact integer sums). `EMOPIPE_KERNELS=avx2` forces the AVX2 set (for testing the fallback on
/// an AVX-512 machine); `EMOPIPE_KERNELS=auto` (or unset) picks the best the CPU has.
public enum KernelDispatch {
    public static let environmentVariable = "EMOPIPE_KERNELS"

    /// The CPU's feature bits (`EMO_CPU_*`).
    public static let cpuFeatures: UInt32 = emo_cpu_features()

    /// The kernel sets a user can ask for.
    public enum Choice: String, Sendable, CaseIterable {
        case auto, avx2
    }

    /// What `EMOPIPE_KERNELS` asks for; nil when it holds something else (see `checkEnvironment`).
    static let requested: Choice? = {
        guard let raw = ProcessInfo.processInfo.environment[environmentVariable], !raw.isEmpty else { return .auto }
        return Choice(rawValue: raw.lowercased())
    }()

    public static func has(_ bit: Int) -> Bool { cpuFeatures & UInt32(bit) != 0 }

    /// True when the CPU can run this binary at all (AVX2 and FMA, with the OS saving YMM state).
    public static var cpuSupported: Bool { has(EMO_CPU_AVX2) && has(EMO_CPU_FMA) }

    /// Throws a one-line error naming the variable and the fix when `EMOPIPE_KERNELS` is set to an unknown value,
    /// or when the CPU lacks AVX2/FMA. Commands call this before any work.
    public static func checkEnvironment() throws {
        guard requested != nil else {
            let raw = ProcessInfo.processInfo.environment[environmentVariable] ?? ""
            throw KernelDispatchError("\(environmentVariable)=\(raw): unknown kernel set (use \(Choice.allCases.map(\.rawValue).joined(separator: " or ")), or unset it)")
        }
        guard cpuSupported else {
            throw KernelDispatchError("this CPU lacks AVX2 and FMA, which emopipe's kernels need (any x86-64 CPU since 2013–2015 has them)")
        }
    }

    /// `EMO_ISA_*` of the fp32 GEMM.
    public static let f32: Int32 = (requested ?? .auto) == .auto && has(EMO_CPU_AVX512) ? Int32(EMO_ISA_AVX512) : Int32(EMO_ISA_AVX2)
    /// `EMO_ISA_*` of the int8 GEMM (AVX-512 only with VNNI).
    public static let int8: Int32 = f32 == Int32(EMO_ISA_AVX512) && has(EMO_CPU_AVX512_VNNI) ? Int32(EMO_ISA_AVX512) : Int32(EMO_ISA_AVX2)
    /// `EMO_ISA_*` of the bf16 GEMM and conversions (AVX-512 only with BF16).
    public static let bf16: Int32 = f32 == Int32(EMO_ISA_AVX512) && has(EMO_CPU_AVX512_BF16) ? Int32(EMO_ISA_AVX512) : Int32(EMO_ISA_AVX2)

    /// The CPU's name from cpuid.
    public static let cpuName: String = {
        var buf = [CChar](repeating: 0, count: 64)
        emo_cpu_brand(&buf)
        return String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }()

    /// The CPU features that matter here, e.g. "avx2 fma avx512 avx512_vnni avx512_bf16".
    public static var cpuFeatureList: String {
        let names: [(Int, String)] = [(EMO_CPU_AVX2, "avx2"), (EMO_CPU_FMA, "fma"), (EMO_CPU_AVX512, "avx512"),
                                        (EMO_CPU_AVX512_VNNI, "avx512_vnni"), (EMO_CPU_AVX512_BF16, "avx512_bf16")]
        return names.filter { has($0.0) }.map(\.1).joined(separator: " ")
    }

    /// The kernel of each precision, e.g. "fp32 avx512 (12×32 vfmadd231ps zmm)".
    public static func kernelName(_ p: Precision) -> String {
        switch p {
        case .fp32: return f32 == Int32(EMO_ISA_AVX512) ? "avx512 (12×32 vfmadd231ps zmm)" : "avx2 (6×16 vfmadd231ps ymm)"
        case .int8: return int8 == Int32(EMO_ISA_AVX512) ? "avx512-vnni (12×32 vpdpbusd zmm)" : "avx2 (2×16 vpmaddwd ymm)"
        case .bf16: return bf16 == Int32(EMO_ISA_AVX512) ? "avx512-bf16 (12×32 vdpbf16ps zmm)" : "avx2 (4×16 vfmadd231ps ymm, bf16 emulated)"
        }
    }

    /// One line for logs and run summaries: the forced/auto choice and each precision's kernel.
    public static var summary: String {
        let how = (requested ?? .auto) == .auto ? "auto" : "forced by \(environmentVariable)=\(requested!.rawValue)"
        return "kernels \(how): fp32 \(kernelName(.fp32)), int8 \(kernelName(.int8)), bf16 \(kernelName(.bf16))"
    }
}

/// A problem with the kernel selection (bad `EMOPIPE_KERNELS`, unsupported CPU); the message names the fix.
public struct KernelDispatchError: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}

/// The arithmetic of the convolutions: `fp32` (exact mode: the reference's arithmetic, results match PyTorch to
/// ~1e-6), or reduced precision for speed with a measured accuracy cost (`docs/performance.md`).
public enum Precision: String, Sendable, CaseIterable {
    /// 32-bit floats throughout.
    case fp32
    /// bf16 activations and weights (8-bit mantissa), fp32 sums (`vdpbf16ps`).
    case bf16
    /// u8 activations (one scale per clip, from its maximum), s8 weights (one scale per output channel), exact
    /// int32 sums (`vpdpbusd`).
    case int8
}
