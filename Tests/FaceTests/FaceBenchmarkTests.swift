// The face path's cost per frame on the real face video at 640×360 and scaled to 1080p, for docs/performance.md.
// Opt-in: `EMOPIPE_BENCH=1 swift test --filter FaceBenchmarkTests` (the Face and Kernels modules are built -O even
// in debug). Prints wall time and, with one thread, the thread's CPU time — which a busy shared machine inflates
// much less than wall time.
import Foundation
import Media
import Testing
import TestSupport
@testable import Face

@Suite(.serialized) struct FaceBenchmarkTests {
    static let enabled = ProcessInfo.processInfo.environment["EMOPIPE_BENCH"] == "1"

    static func threadCPUSeconds() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
    }

    /// Decoded frames of `path` (kept in memory so that decoding is not timed).
    static func frames(_ path: String, limit: Int) throws -> [VideoFrame] {
        let decoder = try VideoDecoder(path: path)
        var out: [VideoFrame] = []
        while out.count < limit, let f = try decoder.next() { out.append(f) }
        return out
    }

    @Test(.enabled(if: enabled && FaceModelsForTests.available && RealFaceVideo.path != nil))
    func facePathPerFrame() throws {
        let dir = TestPaths.temporaryDirectory("face-bench")
        defer { try? FileManager.default.removeItem(at: dir) }
        let hd = dir.appendingPathComponent("real_1080p.mp4").path
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/ffmpeg")
        p.arguments = ["-nostdin", "-loglevel", "error", "-y", "-i", RealFaceVideo.path!, "-vf", "scale=1920:1080", "-frames:v", "160",
                       "-c:v", "libx264", "-crf", "18", hd]
        try p.run(); p.waitUntilExit()
        try #require(p.terminationStatus == 0)
        for (name, path) in [("640×360", RealFaceVideo.path!), ("1920×1080", hd)] {
            let frames = try Self.frames(path, limit: 160)
            var foundByThreads: [Int] = []
            for threads in [1, 2] {
                let tracker = FaceTracker(models: FaceModelsForTests.shared!)
                var found = 0
                let wall0 = Date(), cpu0 = Self.threadCPUSeconds()
                for f in frames where tracker.process(f, threads: threads).found { found += 1 }
                let wall = Date().timeIntervalSince(wall0) / Double(frames.count) * 1000
                let cpu = (Self.threadCPUSeconds() - cpu0) / Double(frames.count) * 1000
                print("face path \(name), \(threads) thread(s): \(String(format: "%.2f", wall)) ms/frame wall" +
                      (threads == 1 ? ", \(String(format: "%.2f", cpu)) ms/frame CPU" : "") + " (\(frames.count) frames, \(found) with a face)")
                foundByThreads.append(found)
            }
            // The figures are for the face path as it runs: it finds the face throughout, whatever the thread count.
            #expect(foundByThreads[0] == foundByThreads[1] && foundByThreads[0] >= frames.count * 95 / 100, "\(name): \(foundByThreads)")
        }
    }
}
