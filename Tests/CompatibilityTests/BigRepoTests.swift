import Foundation
import XCTest

/// `TestRepos/make-big-repo.sh --scale 200`: a blob edited in 8 places, a new model file, a
/// rootfs replaced wholesale and 500 small files in 3-deep directories. A debug hook sends
/// files above 1 MB down the streaming path, as files above 64 MiB go at full scale. Stock
/// ostree applies each delta and `deltagen verify` passes it; `verify` also passes ostree's
/// own delta of the pair.
final class BigRepoTests: XCTestCase {
    // Tests of one class run one at a time, so only one test reads or builds this.
    nonisolated(unsafe) private static var built: (path: String, big1: String, big2: String)?

    private func repo() throws -> (path: String, big1: String, big2: String) {
        if let built = BigRepoTests.built { return built }
        let path = try Harness.makeTemporaryDirectory() + "/repo"
        let out = try Harness.check(["bash", Harness.packageRoot + "/TestRepos/make-big-repo.sh", "--scale", "200", path])
        var ids: [String: String] = [:]
        for line in out.split(separator: "\n") {
            let f = line.split(separator: " ")
            if f.count == 2 { ids[String(f[0])] = String(f[1]) }
        }
        let built = (path, ids["big1"] ?? "", ids["big2"] ?? "")
        BigRepoTests.built = built
        return built
    }

    private func generate(_ repo: String, _ args: [String]) throws {
        let r = try Harness.run([Harness.deltagen, "generate-delta", "--repo", repo, "-q"] + args,
                                environment: ["DELTAGEN_TEST_STREAM_ABOVE": "1000000"])
        XCTAssertEqual(r.status, 0, r.stderr)
    }

    func testSelfContainedDeltasApplyOffline() throws {
        let (path, big1, big2) = try repo()
        let out = try Harness.makeTemporaryDirectory()
        for (name, from, args) in [("fromto", Optional(big1), [big1, big2]), ("empty", nil, ["--empty", big2])] {
            try FileManager.default.createDirectory(atPath: "\(out)/\(name)", withIntermediateDirectories: true)
            try generate(path, ["--min-fallback-size", "0", "--filename", "\(out)/\(name)/superblock"] + args)
            let verify = try Harness.run([Harness.deltagen, "verify", "--repo", path, "\(out)/\(name)/superblock"])
            XCTAssertEqual(verify.status, 0, verify.stdout + verify.stderr)
            try Stock.applyOffline(source: path, deltaPath: "\(out)/\(name)/superblock", from: from, to: big2)
        }
    }

    func testDefaultDeltaWithFallbacksPullsOverHTTP() throws {
        let (path, big1, big2) = try repo()
        let served = try Harness.makeTemporaryDirectory() + "/repo"
        try Harness.check(["cp", "-a", path, served])
        try generate(served, [big1, big2])
        XCTAssertEqual(try Harness.run([Harness.deltagen, "verify", "--repo", served, "\(big1)-\(big2)"]).status, 0)
        try Harness.ostree(served, "summary", "-u")
        let http = try LoopbackHTTPServer(directory: served)
        let work = try Harness.makeTemporaryDirectory()
        let client = work + "/client"
        try Harness.ostree(client, "init", "--mode=bare-user")
        try Harness.ostree(client, "pull-local", path, big1)
        try Harness.ostree(client, "remote", "add", "--no-gpg-verify", "origin", http.url)
        try Harness.ostree(client, "pull", "--require-static-deltas", "origin", big2)
        try Stock.assertHolds(client: client, source: path, commit: big2, workdir: work)
        XCTAssertTrue(http.servedPaths().contains { $0.hasSuffix(".filez") }, "no fallback was fetched")
    }

    func testVerifyAcceptsOstreesOwnDelta() throws {
        let (path, big1, big2) = try repo()
        let out = try Harness.makeTemporaryDirectory()
        try Harness.ostree(path, "static-delta", "generate", "--from=\(big1)", "--to=\(big2)",
                           "--min-fallback-size=0", "--filename=\(out)/superblock")
        let verify = try Harness.run([Harness.deltagen, "verify", "--repo", path, "\(out)/superblock"])
        XCTAssertEqual(verify.status, 0, verify.stdout + verify.stderr)
    }
}
