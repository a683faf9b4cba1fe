import Foundation
import Testing
import TestSupport

/// docs/library.md's embedding example: the page shows Examples/EmbedExample/main.swift unchanged, the package
/// builds it, and its rows are emopipe's.
@Suite struct LibraryExampleTests {
    static let source = TestPaths.packageRoot.appendingPathComponent("Examples/EmbedExample/main.swift")

    @Test func thePageShowsTheExampleThatIsBuilt() throws {
        let code = try String(contentsOf: Self.source, encoding: .utf8)
        let page = try String(contentsOf: TestPaths.packageRoot.appendingPathComponent("docs/library.md"), encoding: .utf8)
        #expect(page.contains("```swift\n" + code + "```\n"))
        #expect(code.split(separator: "\n").count <= 11)   // the import and ten lines
    }

    @Test func theExampleGivesEmopipesRows() throws {
        let example = TestPaths.emopipeBinary.deletingLastPathComponent().appendingPathComponent("EmbedExample").path
        try #require(FileManager.default.isExecutableFile(atPath: example), "build the package first (swift build)")
        let model = try SyntheticModels.shared.folder(head: "rjca")
        let clip = TestPaths.fixture("cropped_aligned/clip")
        let r = try runCommand(example, [clip, model])
        #expect(r.status == 0, "\(r.stderr)")
        let lines = r.stdoutText.split(separator: "\n")
        #expect(lines.last == "6 frames, 5 with a face")   // frame 4 has no crop
        let rows = try parseCSV(try runCommand(TestPaths.emopipeBinary.path, [clip, "--model", model, "-q"]).stdoutText)
        try #require(lines.count == rows.count + 1)
        for (line, row) in zip(lines, rows) {
            let f = line.split(separator: " ")
            #expect(Int(f[0]) == row.frame && f[2] == (row.face == 1 ? "true" : "false"))
            #expect(abs(Double(f[1])! - row.time) < 1e-6 && abs(Double(f[3])! - row.valence) < 1e-6 && abs(Double(f[4])! - row.arousal) < 1e-6)
        }
    }
}
