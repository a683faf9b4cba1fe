// Sharding and claims without any model: the split, the SLURM array variables, and the claim files' rules.
import Foundation
import Pipeline
import Testing
import TestSupport

@Suite struct BatchPartitionTests {
    /// Every input in exactly one shard, each shard's positions increasing, the same split on every call.
    @Test(arguments: [1, 2, 3, 4, 7]) func everyInputOnceAndDeterministic(count: Int) {
        let weights = (0..<23).map { 10 + ($0 * 37) % 211 }
        let split = BatchPartition.split(weights: weights, count: count)
        #expect(split.count == count)
        #expect(split.flatMap { $0 }.sorted() == Array(weights.indices))
        #expect(split.allSatisfy { $0 == $0.sorted() })
        #expect(BatchPartition.split(weights: weights, count: count) == split)
    }

    /// Twenty inputs of different lengths into four shards: loads within 20 % of each other.
    @Test func balanced() {
        let weights = [12, 30, 50, 64, 100, 128, 150, 200, 256, 300, 333, 400, 450, 512, 600, 700, 777, 800, 900, 1000]
        let loads = BatchPartition.split(weights: weights, count: 4).map { $0.reduce(0) { $0 + weights[$1] } }
        #expect(Double(loads.max()!) <= 1.2 * Double(loads.min()!), "\(loads)")
    }

    /// More shards than inputs: the extra shards are empty, never an input twice.
    @Test func moreShardsThanInputs() {
        let split = BatchPartition.split(weights: [5, 1], count: 4)
        #expect(split.flatMap { $0 }.sorted() == [0, 1])
        #expect(split.filter(\.isEmpty).count == 2)
    }
}

@Suite struct SLURMShardTests {
    func env(id: Int, min: Int, max: Int, count: Int, step: Int) -> [String: String] {
        ["SLURM_ARRAY_TASK_ID": "\(id)", "SLURM_ARRAY_TASK_MIN": "\(min)", "SLURM_ARRAY_TASK_MAX": "\(max)",
         "SLURM_ARRAY_TASK_COUNT": "\(count)", "SLURM_ARRAY_TASK_STEP": "\(step)"]
    }

    /// `--array=0-2`, `1-3`, `3-9:3` and the list `4,5,6` (what SLURM 22.05 sets for each, checked on a real cluster).
    @Test func rangesAndSteps() throws {
        #expect(try Shard.fromSLURM(env(id: 0, min: 0, max: 2, count: 3, step: 1)) == Shard(index: 1, count: 3))
        #expect(try Shard.fromSLURM(env(id: 2, min: 0, max: 2, count: 3, step: 1)) == Shard(index: 3, count: 3))
        #expect(try Shard.fromSLURM(env(id: 1, min: 1, max: 3, count: 3, step: 1)) == Shard(index: 1, count: 3))
        #expect(try Shard.fromSLURM(env(id: 6, min: 3, max: 9, count: 3, step: 3)) == Shard(index: 2, count: 3))
        #expect(try Shard.fromSLURM(env(id: 5, min: 4, max: 6, count: 3, step: 1)) == Shard(index: 2, count: 3))
        #expect(try Shard.fromSLURM(env(id: 7, min: 7, max: 7, count: 1, step: 1)) == Shard(index: 1, count: 1))
    }

    /// A list with gaps (`--array=1,3,7`: SLURM says step 1) is refused by every task, the first and last too.
    @Test func listsWithGapsAreRefusedByEveryTask() {
        for id in [1, 3, 7] {
            #expect(throws: PipelineError.self) { try Shard.fromSLURM(env(id: id, min: 1, max: 7, count: 3, step: 1)) }
        }
        #expect(throws: PipelineError.self) { try Shard.fromSLURM(["SLURM_ARRAY_TASK_ID": "2"]) }
    }

    /// No `--shard`: the array's shard inside an array task, every input elsewhere; `--shard` wins.
    @Test func defaults() throws {
        #expect(try ShardSelection.resolve(nil, environment: [:]) == Shard(index: 1, count: 1))
        #expect(try ShardSelection.resolve(nil, environment: env(id: 4, min: 0, max: 4, count: 5, step: 1)) == Shard(index: 5, count: 5))
        #expect(try ShardSelection.resolve(.one(index: 2, count: 3), environment: env(id: 0, min: 0, max: 1, count: 2, step: 1))
                == Shard(index: 2, count: 3))
        #expect(throws: PipelineError.self) { try ShardSelection.resolve(.slurm, environment: [:]) }
        #expect(ShardSelection(argument: "0/4") == nil && ShardSelection(argument: "5/4") == nil && ShardSelection(argument: "2/4") == .one(index: 2, count: 4))
    }
}

@Suite struct BatchClaimTests {
    func folder() -> String { TestPaths.temporaryDirectory("emopipe-claims").path }

    func claimFiles(_ dir: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.contains(".claim") }.sorted()
    }

    /// One claim per input: a second claimant (another worker, here another instance) is told who holds it;
    /// release frees it.
    @Test func exclusiveAndReleased() throws {
        let dir = folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let a = BatchClaims(folder: dir), b = BatchClaims(folder: dir)
        #expect(try a.claim("v1") == .claimed(takenOverFrom: nil))
        #expect(try b.claim("v1") == .heldBy(ClaimHolder.current))
        #expect(claimFiles(dir) == [".v1.claim.0"])
        let text = try String(contentsOfFile: dir + "/.v1.claim.0", encoding: .utf8)
        #expect(text.hasPrefix("pid=\(getpid()) host=") && ClaimHolder(line: text) == ClaimHolder.current)
        a.release("v1")
        #expect(claimFiles(dir).isEmpty)
        #expect(try b.claim("v1") == .claimed(takenOverFrom: nil))
        b.release("v1")
    }

    /// A claim of a process of this machine that has ended is taken over (generation 1), and its file removed.
    @Test func deadProcessOnThisHostIsTakenOver() throws {
        let dir = folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let gone = Process()
        gone.executableURL = URL(fileURLWithPath: "/bin/true")
        try gone.run()
        gone.waitUntilExit()
        let me = ClaimHolder.current
        let dead = ClaimHolder(host: me.host, bootID: me.bootID, pid: gone.processIdentifier, startTicks: 12345)
        try dead.line.write(toFile: dir + "/.v1.claim.0", atomically: true, encoding: .utf8)
        // A live process of this machine whose start time differs is a recycled pid: gone too.
        let recycled = ClaimHolder(host: me.host, bootID: me.bootID, pid: getppid(), startTicks: 1)
        try recycled.line.write(toFile: dir + "/.v2.claim.3", atomically: true, encoding: .utf8)
        let claims = BatchClaims(folder: dir)
        #expect(try claims.claim("v1") == .claimed(takenOverFrom: dead))
        #expect(try claims.claim("v2") == .claimed(takenOverFrom: recycled))
        #expect(claimFiles(dir) == [".v1.claim.1", ".v2.claim.4"])
        claims.release("v1"); claims.release("v2")
        #expect(claimFiles(dir).isEmpty)
    }

    /// Another host's claim stands while its heartbeat is fresh, and is taken over once it is older than the limit;
    /// a holder's heartbeat keeps its own claim fresh.
    @Test func otherHostsByHeartbeat() throws {
        let dir = folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let other = ClaimHolder(host: "node-elsewhere", bootID: "x", pid: 4242, startTicks: 7)
        try other.line.write(toFile: dir + "/.fresh.claim.0", atomically: true, encoding: .utf8)
        try other.line.write(toFile: dir + "/.old.claim.0", atomically: true, encoding: .utf8)
        var times = [timeval(tv_sec: time(nil) - 7200, tv_usec: 0), timeval(tv_sec: time(nil) - 7200, tv_usec: 0)]
        #expect(utimes(dir + "/.old.claim.0", &times) == 0)
        let claims = BatchClaims(folder: dir, staleAfter: 600)
        #expect(try claims.claim("fresh") == .heldBy(other))
        #expect(try claims.claim("old") == .claimed(takenOverFrom: other))
        claims.release("old")

        let short = BatchClaims(folder: dir, staleAfter: 0.4)
        #expect(try short.claim("mine") == .claimed(takenOverFrom: nil))
        var st = stat()
        stat(dir + "/.mine.claim.0", &st)
        let before = st.st_mtim
        Thread.sleep(forTimeInterval: 0.5)
        stat(dir + "/.mine.claim.0", &st)
        #expect(st.st_mtim.tv_sec > before.tv_sec || st.st_mtim.tv_nsec > before.tv_nsec, "the heartbeat touched the claim")
        short.release("mine")
    }

    /// Of several claimants racing for one free input, exactly one gets it.
    @Test func racingClaimantsGetItOnce() throws {
        let dir = folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let claimants = (0..<8).map { _ in BatchClaims(folder: dir) }
        final class Count: @unchecked Sendable { let lock = NSLock(); var wins = 0 }   // under `lock`
        let count = Count()
        DispatchQueue.concurrentPerform(iterations: 8) { i in
            if (try? claimants[i].claim("v")) == .claimed(takenOverFrom: nil) { count.lock.lock(); count.wins += 1; count.lock.unlock() }
        }
        #expect(count.wins == 1)
        for c in claimants { c.release("v") }
        #expect(claimFiles(dir).isEmpty)
    }
}
