import DeltaCompiler
import DeltaFormat
import Foundation
import XCTest

/// Deltas applied and pulled by a current client: Debian 13's ostree 2025.2 in a chroot
/// (`CurrentClient`). Unlike Debian 12's 2022.7, it does not quietly fetch a missing object
/// loose during a delta pull, so a pull from a server that holds only the delta proves the
/// delta complete. Every test skips, naming why, when `Scripts/test.sh` could not build the root.
final class CurrentClientTests: XCTestCase {
    private var client: CurrentClient!
    /// This test's scratch directory inside the root.
    private var work: (host: String, inner: String)!

    override func setUpWithError() throws {
        client = try CurrentClient.require()
        work = try client.scratch()
        let host = work.host
        addTeardownBlock { try? FileManager.default.removeItem(atPath: host) }
    }

    /// A copy of the test repo inside the root whose only ref is `main` → `to` (the commits bind ref `main`).
    private func source(_ name: String, main to: String) throws -> (host: String, inner: String) {
        let t = try TestRepo.shared()
        let host = work.host + "/" + name, inner = work.inner + "/" + name
        try Harness.check(["cp", "-a", t.path, host])
        for ref in ["main", "v1", "v2", "v3"] { try Harness.ostree(host, "refs", "--delete", ref) }
        try Harness.ostree(host, "refs", "--create=main", to)
        return (host, inner)
    }

    private func deltagen(_ repo: String, _ args: [String]) throws {
        try Harness.check([Harness.deltagen, "generate-delta", "--quiet", "--repo", repo] + args)
    }

    private func name(_ from: String?, _ to: String) -> DeltaName {
        DeltaName(from: from.flatMap { Checksum(hex: $0) }, to: Checksum(hex: to)!)
    }

    /// apply-offline into a new bare-user repo holding only `from` (or nothing), then fsck
    /// and commit equality.
    private func applyOffline(_ src: (host: String, inner: String), _ from: String?, _ to: String,
                              file: StaticString = #filePath, line: UInt = #line) throws {
        let repo = work.inner + "/client-offline-\(UUID().uuidString.prefix(8))"
        try client.ostree(repo, "init", "--mode=bare-user")
        if let from { try client.ostree(repo, "pull-local", src.inner, from) }
        try client.ostree(repo, "static-delta", "apply-offline", src.inner + "/" + name(from, to).relativePath,
                          file: file, line: line)
        try client.assertHolds(client: repo, source: src.inner, commit: to, file: file, line: line)
    }

    /// Serves only the delta `from`→`to` of `src` (plus config, refs, summary, the commit and
    /// the fallbacks) on 127.0.0.1, and pulls ref `main` with `--require-static-deltas` into
    /// a new bare-user repo holding `from`. Returns the server's request log.
    @discardableResult
    private func pullDeltaOnly(_ src: (host: String, inner: String), _ from: String?, _ to: String, omitting omit: [String] = [],
                               file: StaticString = #filePath, line: UInt = #line) throws -> [LoggingHTTPServer.Request] {
        try Harness.ostree(src.host, "summary", "-u")
        let server = work.host + "/served-\(UUID().uuidString.prefix(8))"
        let files = try DeltaOnlyServer.make(from: src.host, delta: name(from, to), into: server)
        for path in omit { try FileManager.default.removeItem(atPath: server + "/" + path) }
        XCTAssertEqual(files.filter { $0.hasPrefix("objects/") && $0.hasSuffix(".dirtree") }, [], file: file, line: line)
        let http = try LoggingHTTPServer(directory: server)
        let repo = work.inner + "/client-pull-\(UUID().uuidString.prefix(8))"
        try client.ostree(repo, "init", "--mode=bare-user")
        if let from { try client.ostree(repo, "pull-local", src.inner, from) }
        try client.ostree(repo, "remote", "add", "--no-gpg-verify", "origin", http.url)
        if !omit.isEmpty {
            let r = try client.run(repo, ["pull", "--require-static-deltas", "origin", "main"])
            XCTAssertNotEqual(r.status, 0, "the pull succeeded without \(omit)", file: file, line: line)
            return http.requests()
        }
        try client.ostree(repo, "pull", "--require-static-deltas", "origin", "main", file: file, line: line)
        try client.assertHolds(client: repo, source: src.inner, commit: to, file: file, line: line)
        XCTAssertEqual(try client.ostree(repo, "rev-parse", "origin:main"), to + "\n", file: file, line: line)
        let log = http.requests()
        let missing = log.filter { $0.status != 200 }.map { "\($0.status) \($0.path)" }
        print("\(name(from, to)): \(log.count) requests, \(log.map(\.bytes).reduce(0, +)) bytes; not found: \(missing)")
        XCTAssertTrue(log.contains { $0.status == 200 && $0.path == "/\(name(from, to).relativePath)/superblock" },
                      "the client did not fetch the superblock: \(log.map(\.path))", file: file, line: line)
        return log
    }

    func testDeltagenDeltasApplyOfflineWithCurrentClient() throws {
        let t = try TestRepo.shared()
        let src = try source("source", main: t.v3)
        try deltagen(src.host, ["--min-fallback-size", "0", t.v1, t.v2])
        try deltagen(src.host, ["--min-fallback-size", "0", "--empty", t.v3])
        try deltagen(src.host, ["--min-fallback-size", "0", "--max-chunk-size", "1", t.v2, t.v3])
        let multi = try DeltaLocation(repoPath: src.host, name: name(t.v2, t.v3)).inspect().superblock
        XCTAssertGreaterThanOrEqual(multi.parts.count, 2, "--max-chunk-size 1 should give several parts")
        try applyOffline(src, t.v1, t.v2)
        try applyOffline(src, nil, t.v3)
        try applyOffline(src, t.v2, t.v3)
        print("current client: \(client.version)")
    }

    /// Patches from the second bsdiff search alone (a debug hook forces it): applied offline,
    /// and pulled from a server holding only the delta.
    func testCoverSearchPatchesApplyAndPullWithCurrentClient() throws {
        let t = try TestRepo.shared()
        let src = try source("cover", main: t.v2)
        let r = try Harness.run([Harness.deltagen, "generate-delta", "--quiet", "--repo", src.host,
                                 "--min-fallback-size", "0", t.v1, t.v2],
                                environment: ["DELTAGEN_TEST_BSDIFF_SEARCH": "cover"])
        XCTAssertEqual(r.status, 0, r.stderr)
        try applyOffline(src, t.v1, t.v2)
        try pullDeltaOnly(src, t.v1, t.v2)
    }

    /// The delta indexes deltagen writes itself (merge-deltas refreshes them), read by the
    /// current client: it fetches the index of TO and pulls through the delta.
    func testIndexesDeltagenWritesGuideTheCurrentClient() throws {
        let t = try TestRepo.shared()
        let src = try source("indexed", main: t.v2)
        try deltagen(src.host, ["--min-fallback-size", "0", t.v1, t.v2])
        try Harness.check([Harness.deltagen, "merge-deltas", src.host, "--repo", src.host, "--archive", work.host + "/archive"])
        let http = try LoggingHTTPServer(directory: src.host)
        let repo = work.inner + "/client-indexed"
        try client.ostree(repo, "init", "--mode=bare-user")
        try client.ostree(repo, "pull-local", src.inner, t.v1)
        try client.ostree(repo, "remote", "add", "--no-gpg-verify", "origin", http.url)
        try client.ostree(repo, "pull", "--require-static-deltas", "origin", "main")
        try client.assertHolds(client: repo, source: src.inner, commit: t.v2)
        let index = "/" + name(nil, t.v2).indexRelativePath
        XCTAssertTrue(http.requests().contains { $0.status == 200 && $0.path == index },
                      "the client did not read \(index): \(http.requests().map(\.path))")
    }

    func testDeltagenFromToDeltaPullsFromDeltaOnlyServer() throws {
        let t = try TestRepo.shared()
        let src = try source("fromto", main: t.v2)
        try deltagen(src.host, [t.v1, t.v2])
        try pullDeltaOnly(src, t.v1, t.v2)
    }

    func testDeltagenMultiPartDeltaWithCommitmetaPullsFromDeltaOnlyServer() throws {
        let t = try TestRepo.shared()
        let src = try source("multipart", main: t.v3)
        try deltagen(src.host, ["--min-fallback-size", "0", "--max-chunk-size", "1", t.v2, t.v3])
        let log = try pullDeltaOnly(src, t.v2, t.v3)
        let parts = log.filter { $0.status == 200 && $0.path.hasPrefix("/\(name(t.v2, t.v3).relativePath)/") && !$0.path.hasSuffix("superblock") }
        XCTAssertGreaterThanOrEqual(parts.count, 2, "the multi-part delta's parts were not all fetched")
    }

    func testDeltagenScratchDeltaPullsFromDeltaOnlyServer() throws {
        let t = try TestRepo.shared()
        let src = try source("scratch", main: t.v3)
        try deltagen(src.host, ["--min-fallback-size", "0", "--empty", t.v3])
        try pullDeltaOnly(src, nil, t.v3)
    }

    /// A new big file as a fallback: the client must fetch it loose, and the server has it.
    func testDeltagenFallbackCarryingDeltasPullFromDeltaOnlyServer() throws {
        let t = try TestRepo.shared()
        for (from, to) in [(nil, t.v1), (t.v1, t.v2)] as [(String?, String)] {
            let src = try source("fallback-\(from == nil ? "scratch" : "fromto")", main: to)
            try deltagen(src.host, ["--fallback-policy", "always"] + (from.map { [$0] } ?? ["--empty"]) + [to])
            let fallbacks = try DeltaLocation(repoPath: src.host, name: name(from, to)).inspect().superblock.fallbacks
            XCTAssertFalse(fallbacks.isEmpty, "expected a fallback entry in \(name(from, to))")
            // The server holds nothing the delta does not name: without a fallback, the pull fails.
            let first = fallbacks[0].object.checksum.hex
            try pullDeltaOnly(src, from, to, omitting: ["objects/\(first.prefix(2))/\(first.dropFirst(2)).filez"])
            let log = try pullDeltaOnly(src, from, to)
            for f in fallbacks {
                let hex = f.object.checksum.hex
                XCTAssertTrue(log.contains { $0.status == 200 && $0.path == "/objects/\(hex.prefix(2))/\(hex.dropFirst(2)).filez" },
                              "fallback \(hex) was not fetched")
            }
        }
    }

    /// Files above the streaming threshold (lowered to 150 kB by a debug hook): new files
    /// streamed into parts, a modified one through the rollsum on disk, and a file replaced
    /// wholesale, which the streaming path makes a fallback.
    func testStreamedDeltasApplyAndPullWithCurrentClient() throws {
        let t = try TestRepo.shared()
        let stream = ["DELTAGEN_TEST_STREAM_ABOVE": "150000"]
        let src = try source("streamed", main: t.v2)
        for args in [["--min-fallback-size", "0", "--disable-bsdiff", t.v1, t.v2], ["--min-fallback-size", "0", "--empty", t.v2]] {
            let r = try Harness.run([Harness.deltagen, "generate-delta", "--quiet", "--repo", src.host] + args, environment: stream)
            XCTAssertEqual(r.status, 0, r.stderr)
        }
        try applyOffline(src, t.v1, t.v2)
        try applyOffline(src, nil, t.v2)
        try pullDeltaOnly(src, t.v1, t.v2)

        // big.img replaced by 5 MB with nothing in common, beyond bsdiff: a fallback, fetched loose.
        let replaced = try source("replaced", main: t.v2)
        let overlay = work.host + "/overlay"
        try FileManager.default.createDirectory(atPath: overlay + "/data", withIntermediateDirectories: true)
        var rng = SeededGenerator(seed: 0xB16)
        try Data((0..<5_000_000).map { _ in UInt8.random(in: 0...255, using: &rng) })
            .write(to: URL(fileURLWithPath: overlay + "/data/big.img"))
        let to = try Harness.ostree(replaced.host, "commit", "-b", "main", "-s", "replaced", "--no-xattrs", "--owner-uid=0",
                                    "--owner-gid=0", "--tree=ref=\(t.v2)", "--tree=dir=\(overlay)")
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let r = try Harness.run([Harness.deltagen, "generate-delta", "--quiet", "--repo", replaced.host, "--disable-bsdiff", t.v2, to],
                                environment: stream)
        XCTAssertEqual(r.status, 0, r.stderr)
        let big = String(try Harness.ostree(replaced.host, "ls", "-C", to, "/data/big.img").split(separator: " ")[4])
        let fallbacks = try DeltaLocation(repoPath: replaced.host, name: name(t.v2, to)).inspect().superblock.fallbacks
        XCTAssertEqual(fallbacks.map(\.object.checksum.hex), [big])
        let log = try pullDeltaOnly(replaced, t.v2, to)
        XCTAssertTrue(log.contains { $0.status == 200 && $0.path == "/objects/\(big.prefix(2))/\(big.dropFirst(2)).filez" })
    }

    /// The control: ostree's own generator's deltas pass the same checks.
    func testOstreeDeltasPassTheSameChecks() throws {
        let t = try TestRepo.shared()
        let offline = try source("ostree-offline", main: t.v2)
        try Harness.ostree(offline.host, "static-delta", "generate", "--min-fallback-size=0", "--from=\(t.v1)", "--to=\(t.v2)")
        try Harness.ostree(offline.host, "static-delta", "generate", "--min-fallback-size=0", "--empty", "--to=\(t.v3)")
        try applyOffline(offline, t.v1, t.v2)
        try applyOffline(offline, nil, t.v3)

        let fromTo = try source("ostree-fromto", main: t.v2)
        try Harness.ostree(fromTo.host, "static-delta", "generate", "--from=\(t.v1)", "--to=\(t.v2)")
        try pullDeltaOnly(fromTo, t.v1, t.v2)
        let scratch = try source("ostree-scratch", main: t.v3)
        try Harness.ostree(scratch.host, "static-delta", "generate", "--empty", "--to=\(t.v3)")
        try pullDeltaOnly(scratch, nil, t.v3)
    }
}
