import Foundation
import Testing
import TestSupport

/// `emopipe bench`: the kernel harness's checks, the kernel selection and its environment variable, and one small
/// backbone run in a reduced precision (what it reports, not how fast: timings are never asserted).
@Suite("emopipe bench (end to end)", .serialized)
struct BenchCommandTests {
    func json(_ r: CommandResult) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: r.stdout) as? [String: Any], "stdout: \(r.stdoutText)")
    }

    @Test("--kernels: every kernel version agrees with its reference; the report names the kernels and the CPU")
    func kernels() throws {
        let r = try runCommand(TestPaths.emopipeBinary.path, ["bench", "--kernels", "--repeats", "1", "--json"])
        #expect(r.status == 0, "stderr: \(r.stderr)")
        let report = try json(r)
        let rows = try #require(report["kernels"] as? [[String: Any]])
        #expect(rows.count >= 10)
        for row in rows { #expect(row["passed"] as? Bool == true, "\(row)") }
        let names = Set(rows.compactMap { $0["kernel"] as? String })
        #expect(names.isSuperset(of: ["gemm fp32", "gemm int8", "gemm bf16", "quantize u8", "convert bf16", "dequantize"]))
        #expect((report["cpu_features"] as? String)?.contains("avx2") == true)
    }

    @Test("EMOPIPE_KERNELS=avx2 forces the AVX2 kernels and says so")
    func forced() throws {
        let r = try runCommand(TestPaths.emopipeBinary.path, ["bench", "--kernels", "--repeats", "1"], environment: ["EMOPIPE_KERNELS": "avx2"])
        #expect(r.status == 0, "stderr: \(r.stderr)")
        #expect(r.stdoutText.contains("kernels forced by EMOPIPE_KERNELS=avx2: fp32 avx2"))
    }

    /// Every command that runs the backbones checks the variable before any work (here before it would miss the
    /// model folder).
    @Test("An unknown EMOPIPE_KERNELS value is one line on stderr naming the variable and the fix, exit 1",
          arguments: [["bench", "--kernels"], ["features", TestPaths.fixture("media/25fps.mp4"), "--model", "/nonexistent", "-o", "/dev/null"],
                      ["run", TestPaths.fixture("media/25fps.mp4"), "--model", "/nonexistent"]])
    func badEnvironment(arguments: [String]) throws {
        let r = try runCommand(TestPaths.emopipeBinary.path, arguments, environment: ["EMOPIPE_KERNELS": "sse9"])
        #expect(r.status == 1)
        #expect(!r.crashed)
        let lines = r.stderr.split(separator: "\n")
        #expect(lines.count == 1 && lines[0].contains("EMOPIPE_KERNELS=sse9") && lines[0].contains("avx2"), "stderr: \(r.stderr)")
        #expect(r.stdout.isEmpty)
    }

    @Test("A backbone run reports each requested precision with its kernel and its deviation from fp32")
    func precisions() throws {
        let r = try runCommand(TestPaths.emopipeBinary.path, ["bench", "--clips", "1", "--repeats", "1", "--gemm-size", "64",
                                                              "--precision", "fp32", "--precision", "int8", "--json", "--threads", "2"])
        #expect(r.status == 0, "stderr: \(r.stderr)")
        let report = try json(r)
        let fp32 = try #require(report["r2plus1d_18"] as? [String: Any])
        let int8 = try #require(report["r2plus1d_18_int8"] as? [String: Any])
        #expect(report["r2plus1d_18_bf16"] == nil)
        #expect((int8["kernel"] as? String)?.contains("vpdpbusd") == true || (int8["kernel"] as? String)?.contains("avx2") == true)
        let deviation = try #require(int8["max_rel_diff_vs_fp32"] as? Double)
        #expect(deviation > 0 && deviation < 0.1)
        #expect(fp32["max_rel_diff_vs_fp32"] as? Double == 0)
        let sliding = try #require(report["r2plus1d_18_sliding_reuse"] as? [String: Any])
        #expect((sliding["skipped_fraction"] as? Double ?? 0) > 0.05)
    }
}
