import Foundation
import XCTest
@testable import DeltaPlanning

/// The GitHub workflow in docs/ci.md, checked by Scripts/check-ci-workflow.py (PyYAML):
/// as written, with the batched matrix of 300 deltas, and with each rule broken once.
final class WorkflowTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let doc = root.appendingPathComponent("docs/ci.md")
    static let checker = root.appendingPathComponent("Scripts/check-ci-workflow.py").path

    private func check(doc: URL, matrix: URL? = nil) throws -> (status: Int32, output: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", WorkflowTests.checker, doc.path] + (matrix.map { [$0.path] } ?? [])
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    private func temporary(_ name: String, _ text: String) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("workflow-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent(name)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    func testTheDocumentedWorkflowBuildsEveryDeltaOfABatchedMatrixOnce() throws {
        let matrix = try MatrixBatchingTests.plan(deltas: 300).matrix()
        let file = try temporary("matrix.json", try compactJSON(matrix))
        let r = try check(doc: WorkflowTests.doc, matrix: file)
        XCTAssertEqual(r.status, 0, r.output)
        XCTAssertTrue(r.output.contains("ok: concurrency group static-deltas-acme"), r.output)
        XCTAssertTrue(r.output.contains("ok: job publish: every download names an upload of a job it needs"), r.output)
        XCTAssertTrue(r.output.contains("ok: 256 matrix jobs ask ci-job for 300 pairs, each once"), r.output)
        // The unbatched shape goes through the same step.
        let small = try temporary("small.json", try compactJSON(try MatrixBatchingTests.plan(deltas: 3).matrix()))
        let s = try check(doc: WorkflowTests.doc, matrix: small)
        XCTAssertTrue(s.output.contains("ok: 3 matrix jobs ask ci-job for 3 pairs, each once"), s.output)
    }

    func testEachRuleCatchesItsMistake() throws {
        let text = try String(contentsOf: WorkflowTests.doc, encoding: .utf8)
        let mistakes: [(String, String, String)] = [
            ("ca-certificates curl ./deltagen", "ca-certificates ./deltagen", "runs curl before any step of the job installs curl"),
            ("--by-tag \"$TAG\"", "--by-tag ${{ inputs.tag }}", "inside a script; pass it through env:"),
            ("concurrency:\n  group: static-deltas-acme\n", "", "needs a concurrency group"),
            ("with: { name: plan }", "with: { name: plans }", "downloads plans, which no job it needs uploads"),
            ("needs: [build, plan]", "needs: [build]", "job generate-delta downloads plan, which no job it needs uploads"),
            ("for pair in ${ONLY:-$PAIR}", "for pair in $PAIR", "ci-job was asked for"),
        ]
        let matrix = try temporary("matrix.json", try compactJSON(try MatrixBatchingTests.plan(deltas: 300).matrix()))
        for (good, bad, message) in mistakes {
            XCTAssertTrue(text.contains(good), "the workflow no longer has \(good)")
            let doc = try temporary("ci.md", text.replacingOccurrences(of: good, with: bad))
            let r = try check(doc: doc, matrix: matrix)
            XCTAssertEqual(r.status, 1, "\(bad): \(r.output)")
            XCTAssertTrue(r.output.contains(message), "\(bad): \(r.output)")
        }
    }
}
