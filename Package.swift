// swift-tools-version: 6.0
// emopipe: video → per-frame valence/arousal with the Aff-Wild2 audio-visual fusion models, natively.
import PackageDescription

/// Numeric code is compiled optimized even in debug builds, so `swift test` runs the kernels at full speed.
/// On x86-64 it targets x86-64-v3 (AVX2 + FMA), whatever CPU builds it: the binary runs on any such CPU, and the
/// AVX-512 / VNNI / BF16 micro-kernels (C target `CKernels`, one function per instruction set) are chosen at run time.
/// Everything else keeps the default settings.
/// (`-target-cpu` does not know the x86-64-v3 level name; the clang importer's `-march` sets Swift's target features.)
#if arch(x86_64)
let baselineCPU = ["-Xcc", "-march=x86-64-v3"]
#else
let baselineCPU = ["-target-cpu", "native"]
#endif
let numeric: [SwiftSetting] = [
    .unsafeFlags(["-O"], .when(configuration: .debug)),
    .unsafeFlags(baselineCPU),
]
/// The C micro-kernels: always optimized; no contraction of a*b+c into FMAs behind the code's back (the kernels spell
/// out every FMA, and the reference-order guarantees depend on it). Each function names its own instruction set.
let microKernels: [CSetting] = [
    .unsafeFlags(["-O3", "-ffp-contract=off"]),
]

let package = Package(
    name: "emopipe",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "emopipe", targets: ["emopipe"]),
        // The library a Swift program embeds (docs/library.md): `import Pipeline`.
        .library(name: "EmoPipe", targets: ["Pipeline"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // C libraries from Debian packages, found by pkg-config, each behind a small shim header.
        .systemLibrary(name: "CFFmpeg", pkgConfig: "libavformat libavcodec libavutil libswscale libswresample",
                       providers: [.apt(["libavformat-dev", "libavcodec-dev", "libavutil-dev", "libswscale-dev", "libswresample-dev"])]),
        .systemLibrary(name: "CFFTW", pkgConfig: "fftw3f", providers: [.apt(["libfftw3-dev"])]),
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CTurboJPEG", pkgConfig: "libturbojpeg", providers: [.apt(["libturbojpeg0-dev"])]),

        // Stages, one module each.
        .target(name: "CKernels", cSettings: microKernels),                                   // ISA-specific micro-kernels, CPU detection
        .target(name: "Kernels", dependencies: ["COpenBLAS", "CKernels"], swiftSettings: numeric), // tensors, safetensors, conv/GEMM/pool kernels
        .target(name: "Media", dependencies: ["CFFmpeg", "CTurboJPEG", "Kernels"]),          // FFmpeg decoding: frames, audio, image sequences; JPEG crops as PIL decodes them
        .target(name: "Audio", dependencies: ["CFFTW", "Kernels"], swiftSettings: numeric),   // log-mel spectrograms and per-frame windows
        .target(name: "Face", dependencies: ["Kernels", "Media"], swiftSettings: numeric),    // detection, tracking, alignment, 112×112 crops
        .target(name: "Models", dependencies: ["Kernels"], swiftSettings: numeric),             // R(2+1)D-18, ResNet-18, fusion heads
        .target(name: "Checkpoint", dependencies: ["Kernels", "Models"]),                               // torch.save reader → safetensors
        .target(name: "Pipeline", dependencies: ["Media", "Audio", "Face", "Models", "Kernels"]),
        .executableTarget(name: "emopipe", dependencies: [
            "Pipeline", "Media", "Audio", "Face", "Models", "Kernels", "Checkpoint",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // docs/library.md's embedding example, built with everything else so that it always compiles.
        .executableTarget(name: "EmbedExample", dependencies: ["Pipeline"], path: "Examples/EmbedExample"),

        // Shared by the test targets: locating ../shared/parity and Fixtures/, tolerances, running the binary.
        .target(name: "TestSupport", dependencies: ["Kernels"], path: "Tests/TestSupport"),
        .testTarget(name: "KernelsTests", dependencies: ["Kernels", "CKernels", "TestSupport"], swiftSettings: numeric),
        .testTarget(name: "MediaTests", dependencies: ["TestSupport", "Media", "Kernels", "CTurboJPEG"]),
        .testTarget(name: "AudioTests", dependencies: ["TestSupport", "Audio", "Media", "Kernels"]),
        .testTarget(name: "FaceTests", dependencies: ["TestSupport", "Face", "Media", "Kernels"]),
        .testTarget(name: "ModelsTests", dependencies: ["TestSupport", "Models", "Kernels"]),
        .testTarget(name: "CheckpointTests", dependencies: ["TestSupport", "Checkpoint", "Kernels"]),
        .testTarget(name: "PipelineTests", dependencies: ["TestSupport", "Pipeline", "Kernels", "Models"]),
        .testTarget(name: "CLITests", dependencies: ["TestSupport", "Kernels", "Media"]),
    ]
)
