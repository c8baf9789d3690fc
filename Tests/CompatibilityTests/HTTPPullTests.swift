import DeltaCompiler
import DeltaFormat
import Foundation
import XCTest

/// A static file server on 127.0.0.1 for one test, stopped when the test ends.
final class LoopbackHTTPServer {
    let logPath: String
    private let server: LoopbackProcess

    init(directory: String) throws {
        logPath = try Harness.makeTemporaryDirectory() + "/httpd.log"
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        // Port 0: the kernel picks a free port, which the server prints on its first line.
        server = try LoopbackProcess(["python3", "-u", "-m", "http.server", "0", "--bind", "127.0.0.1", "--directory", directory],
                                     stderr: FileHandle(forWritingAtPath: logPath)!)
    }

    var port: Int { server.port }
    var url: String { server.url }

    /// Paths the server answered with 200, in order.
    func servedPaths() -> [String] {
        let log = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        return log.split(separator: "\n").compactMap { line in
            guard let get = line.range(of: "\"GET "), line.contains("\" 200 ") else { return nil }
            return String(line[get.upperBound...].split(separator: " ")[0])
        }
    }
}

/// Deltas served over HTTP and pulled by stock `ostree pull --require-static-deltas`.
final class HTTPPullTests: XCTestCase {
    func testPullScratchFromToAndMultiPartDeltasWithFallbacks() throws {
        let t = try TestRepo.shared()
        let server = try t.copy()
        let generate = { (args: [String]) in
            try Harness.check([Harness.deltagen, "generate-delta", "--repo", server] + args)
        }
        _ = try generate(["--fallback-policy", "always", "--empty", t.v1])  // big.img becomes a fallback
        _ = try generate([t.v1, t.v2])                                    // bsdiff and rollsum ops
        _ = try generate(["--min-fallback-size", "0", "--max-chunk-size", "1", t.v2, t.v3])  // several parts
        try Harness.ostree(server, "summary", "-u")

        let scratch = try DeltaLocation(repoPath: server, name: DeltaName(t.v1)!).inspect()
        XCTAssertFalse(scratch.superblock.fallbacks.isEmpty)

        let http = try LoopbackHTTPServer(directory: server)
        let work = try Harness.makeTemporaryDirectory()
        let client = work + "/client"
        try Harness.ostree(client, "init", "--mode=bare-user")
        try Harness.ostree(client, "remote", "add", "--no-gpg-verify", "origin", http.url)

        for (index, commit) in [t.v1, t.v2, t.v3].enumerated() {
            let out = try Harness.ostree(client, "pull", "--require-static-deltas", "origin", commit)
            XCTAssertTrue(out.contains("delta parts") || out.isEmpty, out)
            try Stock.assertHolds(client: client, source: server, commit: commit,
                                  workdir: try Harness.makeTemporaryDirectory())
            let name = index == 0 ? DeltaName(commit)! : DeltaName("\([t.v1, t.v2, t.v3][index - 1])-\(commit)")!
            XCTAssertTrue(http.servedPaths().contains("/\(name.relativePath)/superblock"),
                          "the pull of \(commit) did not fetch its superblock")
        }
        let served = http.servedPaths()
        XCTAssertTrue(served.contains { $0.hasSuffix(".filez") }, "fallback objects were not fetched")
        let v2v3 = DeltaName("\(t.v2)-\(t.v3)")!.relativePath
        XCTAssertGreaterThanOrEqual(served.filter { $0.hasPrefix("/\(v2v3)/") && !$0.hasSuffix("superblock") }.count, 2,
                                    "the multi-part delta's parts were not all fetched")
    }
}
