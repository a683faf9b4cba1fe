import Synchronization
import COpenBLAS
import Dispatch
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

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
    Parallelism.withBLAS(threads: threads) {
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
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
    Parallelism.withBLAS(threads: threads) {
        cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(m), Int32(n), alpha, a, Int32(lda), x, 1, beta, y, 1)
    }
}

/// Threads are a value every kernel, layer and model call takes (`threads:`); nothing reads a global back.
/// This type only (1) makes OpenBLAS's own process-wide thread count follow the value a call passes in, and
/// (2) fans work out over emopipe's own workers.
public enum Parallelism {
    /// Sets OpenBLAS's process-wide thread count to `threads` (clamped to 1…Int32.max; OpenBLAS clamps further to
    /// its build's maximum). `sgemm`/`sgemv` call it before every product: with OpenBLAS 0.3.21 (pthreads build)
    /// `openblas_set_num_threads` costs ≈ 10 ns when the count is unchanged and ≈ 30 ns when it alternates
    /// (measured on this machine), against ≥ 27 µs for the smallest products the heads run (64³), so following the
    /// value per call is free. The setting is process-wide, so setting it and calling BLAS are one step under a
    /// process-wide lock (`withBLAS`): inputs run side by side (`emopipe batch --jobs`) call BLAS from several
    /// threads — their heads and their face detectors — and each call runs with the count it passed, never with a
    /// count another thread set in between, and never while another call uses OpenBLAS's thread pool. The lock
    /// costs ≈ 20 ns uncontended; contended, BLAS calls (the heads, a few percent of a run) wait for each other
    /// while the convolutions, which never call BLAS, go on. emopipe's own convolution workers never call BLAS.
    @inline(__always)
    static func setBLASThreads(_ threads: Int) {
        emo_openblas_set_threads(Int32(clamping: max(1, threads)))
    }

    /// Runs `body` (one BLAS call) with OpenBLAS set to `threads` threads, no other BLAS call running meanwhile.
    @inline(__always)
    static func withBLAS(threads: Int, _ body: () -> Void) {
        pthread_mutex_lock(blasLock)
        setBLASThreads(threads)
        body()
        pthread_mutex_unlock(blasLock)
    }

    /// The lock of `withBLAS`; allocated once, never freed.
    nonisolated(unsafe) private static let blasLock: UnsafeMutablePointer<pthread_mutex_t> = {
        let m = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        pthread_mutex_init(m, nil)
        return m
    }()

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

    /// Runs `body(i)` for i in 0..<count on up to `workers` workers (each takes the next unclaimed index).
    public static func forEachIndex(_ count: Int, workers: Int, _ body: (Int) -> Void) {
        forEachIndex(count, workers: workers) { _, i in body(i) }
    }

    /// The same, telling `body` which worker (0..<workers) runs index i, so it can use that worker's scratch.
    public static func forEachIndex(_ count: Int, workers: Int, _ body: (_ worker: Int, _ i: Int) -> Void) {
        let w = max(1, min(workers, count))
        if w == 1 { for i in 0..<count { body(0, i) }; return }
        let next = Atomic<Int>(0)   // on the stack: indices go to whichever worker asks first
        forEachWorker(w) { worker in
            while true {
                let i = next.wrappingAdd(1, ordering: .relaxed).oldValue
                if i >= count { break }
                body(worker, i)
            }
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
