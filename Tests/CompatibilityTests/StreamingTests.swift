import Foundation
import XCTest

/// Files above `DeltaOptions.streamAbove` are read in pieces, never whole. A debug-build
/// hook lowers the threshold to 150 kB, so the test repository's files take that path:
/// new files are streamed into parts, modified ones go through rollsum on disk. Stock
/// ostree applies every such delta, and a delta of only new files is byte-identical to the
/// one the in-memory path makes.
final class StreamingTests: XCTestCase {
    private let streamAbove = ["DELTAGEN_TEST_STREAM_ABOVE": "150000"]

    private func generate(_ repo: String, _ out: String, _ args: [String], streaming: Bool) throws -> CommandResult {
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let r = try Harness.run([Harness.deltagen, "generate-delta", "--repo", repo, "--json",
                                 "--filename", out + "/superblock"] + args,
                                environment: streaming ? streamAbove : [:])
        XCTAssertEqual(r.status, 0, r.stderr)
        return r
    }

    func testStreamedDeltasApplyWithStockOstree() throws {
        let t = try TestRepo.shared(mode: "archive")
        let dir = try Harness.makeTemporaryDirectory()
        let cases: [(args: [String], from: String?, to: String)] = [
            (["--min-fallback-size", "0", "--disable-bsdiff", t.v1, t.v2], t.v1, t.v2),
            (["--min-fallback-size", "0", "--disable-bsdiff", "--max-chunk-size", "2", t.v2, t.v3], t.v2, t.v3),
            (["--min-fallback-size", "0", "--empty", t.v3], nil, t.v3),
        ]
        for (i, c) in cases.enumerated() {
            let out = "\(dir)/\(i)"
            let report = try generate(t.path, out, c.args, streaming: true)
            if c.from != nil { XCTAssertTrue(report.stdout.contains("\"rollsumObjects\":"), report.stdout) }
            try Stock.applyOffline(source: t.path, deltaPath: out + "/superblock", from: c.from, to: c.to)
        }
    }

    func testStreamedLiteralsGiveTheSameBytes() throws {
        let t = try TestRepo.shared(mode: "archive")
        let dir = try Harness.makeTemporaryDirectory()
        let args = ["--min-fallback-size", "0", "--empty", t.v2]
        _ = try generate(t.path, dir + "/memory", args, streaming: false)
        _ = try generate(t.path, dir + "/streamed", args, streaming: true)
        for file in try FileManager.default.contentsOfDirectory(atPath: dir + "/memory") {
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: "\(dir)/memory/\(file)")),
                           try Data(contentsOf: URL(fileURLWithPath: "\(dir)/streamed/\(file)")), file)
        }
    }

    /// The fallback decision for a big new file reads it in one pass and decides as before.
    func testFallbackDecisionsAreUnchanged() throws {
        let t = try TestRepo.shared(mode: "archive")
        let dir = try Harness.makeTemporaryDirectory()
        for policy in ["auto", "always"] {
            let args = ["--fallback-policy", policy, t.v1, t.v2]
            let memory = try generate(t.path, "\(dir)/\(policy)-memory", args, streaming: false)
            let streamed = try generate(t.path, "\(dir)/\(policy)-streamed", args, streaming: true)
            func fallbacks(_ r: CommandResult) -> Substring? {
                r.stdout.split(separator: ",").first { $0.contains("\"fallbacks\":") }
            }
            XCTAssertNotNil(fallbacks(memory), memory.stdout)
            XCTAssertEqual(fallbacks(memory), fallbacks(streamed), policy)
        }
    }
}
