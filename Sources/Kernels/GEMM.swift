import COpenBLAS
import Dispatch

/// Row-major single-precision matrix product through OpenBLAS with `threads` threads:
/// C[M×N] = alpha · op(A)[M×K] · op(B)[K×N] + beta · C, with leading dimensions in elements.
@inline(__always)
public func sgemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                  alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                  b: UnsafePointer<Float>, ldb: Int,
                  beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int, threads: Int) {
    guard m > 0, n > 0 else { return }
    if k == 0 {
        // BLAS leaves C·beta; keep that meaning explicit for empty products.
        for i in 0..<m { for j in 0..<n { c[i * ldc + j] *= beta } }
        return
    }
    Parallelism.setBLASThreads(threads)
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}

/// Row-major matrix-vector product through OpenBLAS with `threads` threads:
/// y[M] = alpha · A[M×N] · x[N] + beta · y (A not transposed; x and y contiguous).
@inline(__always)
public func sgemv(m: Int, n: Int, alpha: Float = 1, a: UnsafePointer<Float>, lda: Int, x: UnsafePointer<Float>,
                  beta: Float = 0, y: UnsafeMutablePointer<Float>, threads: Int) {
    guard m > 0 else { return }
    if n == 0 {
        for i in 0..<m { y[i] *= beta }
        return
    }
    Parallelism.setBLASThreads(threads)
    cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(m), Int32(n), alpha, a, Int32(lda), x, 1, beta, y, 1)
}

/// Threads are a value every kernel, layer and model call takes (`threads:`); nothing reads a global back.
/// This type only (1) makes OpenBLAS's own process-wide thread count follow the value a call passes in, and
/// (2) fans work out over emopipe's own workers.
public enum Parallelism {
    /// Sets OpenBLAS's process-wide thread count to `threads` (clamped to 1…Int32.max; OpenBLAS clamps further to
    /// its build's maximum). `sgemm`/`sgemv` call it before every product: with OpenBLAS 0.3.21 (pthreads build)
    /// `openblas_set_num_threads` costs ≈ 10 ns when the count is unchanged and ≈ 30 ns when it alternates
    /// (measured on this machine), against ≥ 27 µs for the smallest products the heads run (64³), so following the
    /// value per call is free. The setting is process-wide: two threads calling BLAS at the same moment with different
    /// counts would race on it; emopipe calls BLAS from one thread at a time (the heads), and its own convolution
    /// workers never call BLAS.
    @inline(__always)
    static func setBLASThreads(_ threads: Int) {
        emo_openblas_set_threads(Int32(clamping: max(1, threads)))
    }

    /// Runs `body(worker)` for worker 0..<count at the same time and returns when all are done. Callers pass a count
    /// no larger than the `threads` value they were given, and never call it while OpenBLAS is running, so the two
    /// levels never stack.
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

/// What OpenBLAS build is in use (for benchmark reports).
public enum OpenBLAS {
    /// The OpenBLAS kernel in use (e.g. "Haswell", "SkylakeX").
    public static var coreName: String { String(cString: emo_openblas_corename()) }
}

/// Carries a value across a concurrency boundary whose safety is argued at the use site.
struct UncheckedSendableBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
