import Foundation

/// The number of threads a run uses: a value passed from the command down to every backbone, head and face call
/// (`threads:`). OpenBLAS's process-wide setting follows the value of each call (`Kernels.sgemm`); nothing reads a
/// global back.
public enum ThreadCount {
    /// More workers than this only cost memory and scheduling; the bound also keeps C `int` conversions safe.
    public static let maximum = 1024

    /// Every core of this machine.
    public static var allCores: Int { ProcessInfo.processInfo.activeProcessorCount }

    /// `n` when it is a usable thread count, else an error saying which are.
    public static func checked(_ n: Int) throws -> Int {
        guard (1...maximum).contains(n) else {
            throw PipelineError(nil, "\(n) threads cannot be used",
                                remedy: "give 1 to \(maximum); this machine has \(allCores) cores")
        }
        return n
    }
}
