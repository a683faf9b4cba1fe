import Foundation
import Kernels

/// Paths and checks shared by the test targets.
public enum TestPaths {
    /// The package root (this file is Tests/TestSupport/TestSupport.swift).
    public static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    public static var fixtures: URL { packageRoot.appendingPathComponent("Fixtures") }

    public static func fixture(_ name: String) -> String { fixtures.appendingPathComponent(name).path }

    /// The official-protocol fixture folder (`tools/official_fixture.sh`: talking-face videos, their crops, wavs and
    /// timestamps as the official preprocessing writes them), made by `make official-fixture`, which `make test` runs
    /// before the tests.
    public static var officialFixture: URL { packageRoot.appendingPathComponent(".build/official-fixture") }

    /// Its two videos (29.97 and 25 fps), by name.
    public static let officialFixtureVideos = ["speech_2997", "speech_25"]

    /// A file of the official fixture. An absent one, or a fixture not made to the end (no `.complete`, which
    /// `tools/official_fixture.sh` writes last), is a failure naming the command that makes it, not a skip.
    public static func officialFixture(_ relative: String) throws -> String {
        let path = officialFixture.appendingPathComponent(relative).path
        guard FileManager.default.fileExists(atPath: officialFixture.appendingPathComponent(".complete").path),
              FileManager.default.fileExists(atPath: path) else { throw MissingFixture(path: path) }
        return path
    }

    /// A video argument of the media tests: `media/NAME` (a committed fixture) or `official:NAME` (a video of the
    /// official fixture, `officialFixture("videos/NAME.mp4")`).
    public static func video(_ entry: String) throws -> String {
        guard entry.hasPrefix("official:") else { return fixture(entry) }
        return try officialFixture("videos/\(entry.dropFirst("official:".count)).mp4")
    }

    public struct MissingFixture: Error, CustomStringConvertible {
        public let path: String
        public var description: String { "\(path) is absent: run `make official-fixture` (tools/official_fixture.sh)" }
    }

    /// `../shared/parity` beside the checkout, or `EMOPIPE_PARITY` when set; nil when absent (tests then skip).
    public static var parity: URL? {
        if let env = ProcessInfo.processInfo.environment["EMOPIPE_PARITY"] {
            return FileManager.default.fileExists(atPath: env) ? URL(fileURLWithPath: env) : nil
        }
        let u = packageRoot.deletingLastPathComponent().appendingPathComponent("shared/parity")
        return FileManager.default.fileExists(atPath: u.path) ? u : nil
    }

    public static var parityAvailable: Bool { parity != nil }

    public static func parityFile(_ name: String) throws -> SafeTensorsFile {
        guard let p = parity else { throw SafeTensorsError("shared/parity is absent") }
        return try SafeTensorsFile(path: p.appendingPathComponent(name).path)
    }

    public static func parityKeys(_ name: String) throws -> [StateDictKey] {
        guard let p = parity else { throw SafeTensorsError("shared/parity is absent") }
        return try SyntheticWeights.parseKeys(String(contentsOf: p.appendingPathComponent(name), encoding: .utf8))
    }

    /// A fresh temporary folder.
    public static func temporaryDirectory(_ tag: String = "emopipe-test") -> URL {
        let u = FileManager.default.temporaryDirectory.appendingPathComponent("\(tag)-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: u, withIntermediateDirectories: true)
        return u
    }

    /// The built `emopipe` binary (beside the test bundle in the build folder).
    public static var emopipeBinary: URL {
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("emopipe")
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: candidate.path, isDirectory: &isDir), !isDir.boolValue { return candidate }
            dir.deleteLastPathComponent()
        }
        return packageRoot.appendingPathComponent(".build/debug/emopipe")
    }
}

/// The parity tolerance of shared/parity/README.md: max|ours − ref| ≤ 1e-4 · max(1, max|ref|).
public struct ParityResult: CustomStringConvertible, Sendable {
    public let maxDifference: Float
    public let bound: Float
    public var passed: Bool { maxDifference <= bound && maxDifference.isFinite }
    public var description: String { "max|diff| = \(maxDifference), bound = \(bound)" }
}

public func parity(_ ours: Tensor, _ reference: Tensor) -> ParityResult {
    precondition(ours.count == reference.count, "shapes \(ours.shape) and \(reference.shape) differ")
    var refMax: Float = 0
    for i in 0..<reference.count { refMax = max(refMax, abs(reference.data[i])) }
    var d: Float = 0
    for i in 0..<ours.count {
        let x = abs(ours.data[i] - reference.data[i])
        d = x.isNaN ? .nan : max(d, x)
        if d.isNaN { break }
    }
    return ParityResult(maxDifference: d, bound: 1e-4 * max(1, refMax))
}

/// Result of running a command.
public struct CommandResult: Sendable {
    public let status: Int32
    public let stdout: Data
    public let stderr: String
    public var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    /// True when the process ended by a signal (a crash), not by exit.
    public let crashed: Bool
}

/// Runs a program to completion with a time limit (killed past it), capturing both streams. Its standard input is
/// empty, or `input` written through a pipe (not a seekable file).
public func runCommand(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                       timeout: TimeInterval = 300, input: Data? = nil) throws -> CommandResult {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: executable)
    p.arguments = arguments
    if let environment { p.environment = ProcessInfo.processInfo.environment.merging(environment) { _, b in b } }
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    let stdin = input.map { _ in Pipe() }
    p.standardInput = stdin ?? FileHandle.nullDevice
    try p.run()
    final class Box: @unchecked Sendable { var out = Data(); var err = Data() }
    let box = Box()
    let group = DispatchGroup()
    group.enter(); DispatchQueue.global().async { box.out = out.fileHandleForReading.readDataToEndOfFile(); group.leave() }
    group.enter(); DispatchQueue.global().async { box.err = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
    if let stdin, let input {
        // A program that stops reading early closes the pipe: the write then fails (EPIPE, not a signal), which is fine.
        signal(SIGPIPE, SIG_IGN)
        let writer = UncheckedBox(stdin.fileHandleForWriting)
        DispatchQueue.global().async { try? writer.value.write(contentsOf: input); try? writer.value.close() }
    }
    let deadline = Date().addingTimeInterval(timeout)
    while p.isRunning && Date() < deadline { usleep(20_000) }
    if p.isRunning { p.terminate(); usleep(200_000); if p.isRunning { kill(p.processIdentifier, SIGKILL) } }
    p.waitUntilExit()
    group.wait()
    return CommandResult(status: p.terminationStatus, stdout: box.out, stderr: String(decoding: box.err, as: UTF8.self),
                         crashed: p.terminationReason == .uncaughtSignal)
}

/// Carries a value to another thread where only that thread uses it.
private struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
