import Dispatch
import COpenBLAS

/// Row-major single-precision matrix product through OpenBLAS:
/// C[M×N] = alpha · op(A)[M×K] · op(B)[K×N] + beta · C, with leading dimensions in elements.
@inline(__always)
public func sgemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                  alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                  b: UnsafePointer<Float>, ldb: Int,
                  beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
    guard m > 0, n > 0 else { return }
    if k == 0 {
        // BLAS leaves C·beta; keep that meaning explicit for empty products.
        for i in 0..<m { for j in 0..<n { c[i * ldc + j] *= beta } }
        return
    }
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}

/// The one parallelism knob: the number of threads OpenBLAS uses. emopipe's own loops stay serial
/// or split work only where BLAS is not running, so the two levels are never stacked.
public enum Parallelism {
    public static func setThreads(_ n: Int) { emo_openblas_set_threads(Int32(max(1, n))) }
    public static var threads: Int { Int(emo_openblas_get_threads()) }
    /// The OpenBLAS kernel in use (e.g. "Haswell", "SkylakeX").
    public static var blasCore: String { String(cString: emo_openblas_corename()) }
}

extension Parallelism {
    /// Runs `body(worker)` for worker 0..<count at the same time and returns when all are done. emopipe's kernels call
    /// this only with count ≤ `threads` and never while OpenBLAS is running, so the two levels never stack.
    public static func forEachWorker(_ count: Int, _ body: (Int) -> Void) {
        if count <= 1 { body(0); return }
        // The callers hand each worker disjoint output rows and private scratch; that is the audited invariant
        // that makes sharing the closure across threads sound.
        withoutActuallyEscaping(body) { work in
            let shared = UncheckedSendableBox(work)
            DispatchQueue.concurrentPerform(iterations: count) { shared.value($0) }
        }
    }
}

/// Carries a value across a concurrency boundary whose safety is argued at the use site.
struct UncheckedSendableBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

