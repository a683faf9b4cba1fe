import Foundation

/// Which part of a batch's inputs one worker takes (`emopipe batch --shard`).
public enum ShardSelection: Sendable, Equatable {
    /// Every input (the default outside a SLURM job array).
    case all
    /// Shard `index` (1-based) of `count`.
    case one(index: Int, count: Int)
    /// The shard given by the SLURM job array this process is a task of (`Shard.fromSLURM`).
    case slurm

    /// Parses `I/N` (1 ≤ I ≤ N), `slurm` or `all`; nil for anything else.
    public init?(argument: String) {
        switch argument {
        case "all": self = .all
        case "slurm": self = .slurm
        default:
            let parts = argument.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]), n >= 1, (1...n).contains(i) else { return nil }
            self = .one(index: i, count: n)
        }
    }

    /// The shard to run: `--shard` as given; with no `--shard` (nil), the SLURM array's when this process is an array
    /// task (`SLURM_ARRAY_TASK_ID` is set), else every input.
    public static func resolve(_ given: ShardSelection?, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Shard {
        switch given ?? (environment["SLURM_ARRAY_TASK_ID"] != nil ? .slurm : .all) {
        case .all: return Shard(index: 1, count: 1)
        case .one(let i, let n): return Shard(index: i, count: n)
        case .slurm: return try Shard.fromSLURM(environment)
        }
    }
}

/// Shard `index` (1-based) of `count`.
public struct Shard: Sendable, Equatable, CustomStringConvertible {
    public let index: Int
    public let count: Int

    public init(index: Int, count: Int) {
        precondition(count >= 1 && (1...count).contains(index), "shard \(index)/\(count)")
        self.index = index
        self.count = count
    }

    public var description: String { "\(index)/\(count)" }

    /// The shard of a SLURM job array task: the array's tasks, in the order of their ids, are shards 1 … N.
    ///
    /// Supported: ranges with or without a step (`--array=0-9`, `1-10`, `3-30:3`, and a `%` limit on how many run at
    /// once), and lists that are such a range (`--array=4,5,6`). SLURM gives a task only its own id, the array's
    /// lowest and highest ids, their count and the step (`SLURM_ARRAY_TASK_MIN`, `_MAX`, `_COUNT`, `_STEP`), so a
    /// list with gaps (`--array=1,3,7`) cannot be told apart from others and is refused by every task alike, naming
    /// the `--shard I/N` to give instead. The decision depends only on the array's variables, which every task
    /// shares: either every task runs, or none does.
    public static func fromSLURM(_ environment: [String: String]) throws -> Shard {
        func value(_ name: String) throws -> Int {
            guard let text = environment[name] else {
                throw PipelineError(nil, "--shard slurm: $\(name) is not set (this process is not a task of a SLURM job array)",
                                    remedy: "submit with sbatch --array, or give --shard I/N")
            }
            guard let v = Int(text.trimmingCharacters(in: .whitespaces)), v >= 0 else {
                throw PipelineError(nil, "--shard slurm: $\(name) is '\(text)', not a task id", remedy: "give --shard I/N")
            }
            return v
        }
        let id = try value("SLURM_ARRAY_TASK_ID")
        let low = try value("SLURM_ARRAY_TASK_MIN"), high = try value("SLURM_ARRAY_TASK_MAX")
        let count = try value("SLURM_ARRAY_TASK_COUNT")
        let step = environment["SLURM_ARRAY_TASK_STEP"] == nil ? 1 : try value("SLURM_ARRAY_TASK_STEP")
        guard count >= 1, step >= 1, high >= low, (low...high).contains(id), high - low == step * (count - 1),
              (id - low) % step == 0 else {
            throw PipelineError(nil, "the SLURM array (ids \(low)…\(high), \(count) tasks, step \(step)) is not an evenly spaced "
                                + "range, so task \(id) cannot tell which shard it is",
                                remedy: "submit with --array=FIRST-LAST or FIRST-LAST:STEP, or give each task --shard I/\(count)")
        }
        return Shard(index: (id - low) / step + 1, count: count)
    }
}

/// The split of a batch's inputs into shards of about equal work.
public enum BatchPartition {
    /// Splits inputs of the given weights (frames) into `count` shards: the positions of each shard's inputs, in
    /// increasing order. Deterministic — every worker computes the same split from the same sorted inputs — and
    /// balanced: the heaviest inputs first, each to the shard with the least work so far (ties: the lower shard),
    /// then single moves and swaps between the heaviest and lightest shards while they narrow the gap.
    public static func split(weights: [Int], count: Int) -> [[Int]] {
        precondition(count >= 1, "at least one shard")
        var shards = [[Int]](repeating: [], count: count)
        var load = [Int](repeating: 0, count: count)
        let order = weights.indices.sorted { (weights[$0], $1) > (weights[$1], $0) }   // heaviest first; ties by position
        for i in order {
            let s = load.indices.min { (load[$0], $0) < (load[$1], $1) }!
            shards[s].append(i)
            load[s] += weights[i]
        }
        // Refinement: move an input from the heaviest to the lightest shard, or swap two, when that lowers the
        // heaviest of the two; each step strictly lowers the spread, so this ends.
        for _ in 0..<(4 * weights.count + 4) {
            let hi = load.indices.max { (load[$0], $1) < (load[$1], $0) }!
            let lo = load.indices.min { (load[$0], $0) < (load[$1], $1) }!
            let gap = load[hi] - load[lo]
            guard gap > 0 else { break }
            var best: (gain: Int, a: Int, b: Int?)? = nil   // positions in shards[hi] / shards[lo]
            for (a, ia) in shards[hi].enumerated() {
                let d = weights[ia]
                if d < gap, best == nil || gap - abs(gap - 2 * d) > best!.gain { best = (gap - abs(gap - 2 * d), a, nil) }
                for (b, ib) in shards[lo].enumerated() {
                    let e = weights[ia] - weights[ib]
                    if e > 0, e < gap, best == nil || gap - abs(gap - 2 * e) > best!.gain { best = (gap - abs(gap - 2 * e), a, b) }
                }
            }
            guard let move = best, move.gain > 0 else { break }
            let ia = shards[hi].remove(at: move.a)
            shards[lo].append(ia)
            load[hi] -= weights[ia]; load[lo] += weights[ia]
            if let b = move.b {
                let ib = shards[lo].remove(at: b)
                shards[hi].append(ib)
                load[lo] -= weights[ib]; load[hi] += weights[ib]
            }
        }
        return shards.map { $0.sorted() }
    }
}

extension BatchPlan {
    /// An input with its probed frame count (nil: unreadable, counted as 1).
    public struct PlannedInput: Sendable {
        public let position: Int
        public let item: BatchItem
        public let frames: Int?
    }

    /// The inputs of each of `count` shards (`BatchPartition.split` over the probed frame counts), each shard's in
    /// the inputs' order. One shard is every input, probed only when `probe` says so.
    public static func shards(_ items: [BatchItem], count: Int, frameRate: Double, probe: Bool = false) -> [[PlannedInput]] {
        guard count > 1 || probe else { return [items.enumerated().map { PlannedInput(position: $0, item: $1, frames: nil) }] }
        let frames = items.map { frameCount(of: $0, frameRate: frameRate) }
        return BatchPartition.split(weights: frames.map { max(1, $0 ?? 1) }, count: count).map { positions in
            positions.map { PlannedInput(position: $0, item: items[$0], frames: frames[$0]) }
        }
    }
}
