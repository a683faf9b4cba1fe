import Foundation
import Testing
import TestSupport

@Suite struct CLIBasicsTests {
    @Test func helpAndVersion() throws {
        let bin = TestPaths.emopipeBinary.path
        let help = try runCommand(bin, ["--help"])
        #expect(help.status == 0)
        #expect(help.stdoutText.contains("USAGE"))
        let version = try runCommand(bin, ["--version"])
        #expect(version.status == 0)
        #expect(version.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ".").count == 3)
    }

    @Test func unknownOptionFailsWithMessage() throws {
        let r = try runCommand(TestPaths.emopipeBinary.path, ["--no-such-option"])
        #expect(r.status != 0)
        #expect(!r.stderr.isEmpty)
        #expect(!r.crashed)
    }
}
