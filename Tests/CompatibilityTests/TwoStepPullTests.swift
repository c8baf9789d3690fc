import DeltaCompiler
import DeltaFormat
import Foundation
import XCTest

/// The client-side remedy for the over-fetch of libostree 2022.2–2023.6 (`docs/clients.md`),
/// on Debian 12's stock ostree 2022.7:
///   1. `ostree pull --require-static-deltas --subpath=/nonexistent REMOTE REF` applies the
///      delta, and the scan of the partial commit skips every file;
///   2. a plain `ostree pull REMOTE REF` finds everything present and clears the partial state.
/// The server holds every object, so a file the client fetched loose would show in its log.
final class TwoStepPullTests: XCTestCase {
    func testTwoStepPullFetchesNoLooseContent() throws {
        let t = try TestRepo.shared()
        let server = try t.copy()
        for ref in ["main", "v1", "v2", "v3"] { try Harness.ostree(server, "refs", "--delete", ref) }
        try Harness.ostree(server, "refs", "--create=main", t.v2)  // the commits bind ref `main`
        try Harness.check([Harness.deltagen, "generate-delta", "--quiet", "--repo", server,
                           "--min-fallback-size", "0", t.v1, t.v2])
        try Harness.ostree(server, "summary", "-u")
        let name = DeltaName(from: Checksum(hex: t.v1), to: Checksum(hex: t.v2)!)
        XCTAssertEqual(try DeltaLocation(repoPath: server, name: name).inspect().superblock.fallbacks.count, 0)

        let http = try LoggingHTTPServer(directory: server)
        let work = try Harness.makeTemporaryDirectory()
        let client = work + "/client"
        try Harness.ostree(client, "init", "--mode=bare-user")
        try Harness.ostree(client, "pull-local", server, t.v1)
        try Harness.ostree(client, "remote", "add", "--no-gpg-verify", "origin", http.url)

        try Harness.ostree(client, "pull", "--require-static-deltas", "--subpath=/nonexistent", "origin", "main")
        let afterStep1 = http.requests().count
        try Harness.ostree(client, "pull", "origin", "main")

        let log = http.requests()
        XCTAssertTrue(log.contains { $0.status == 200 && $0.path == "/\(name.relativePath)/superblock" },
                      "step 1 did not use the delta: \(log.map(\.path))")
        XCTAssertEqual(http.looseContentFetches(), [], "loose content fetched despite the two-step pull")
        // Step 2 reads the superblock again (about 1 kB) to see that every part is present.
        XCTAssertEqual(log.dropFirst(afterStep1).filter { $0.path.hasPrefix("/deltas/") && !$0.path.hasSuffix("/superblock") }, [],
                       "step 2 fetched delta parts again")
        XCTAssertEqual(try Harness.ostree(client, "rev-parse", "origin:main"), t.v2 + "\n")
        try Stock.assertHolds(client: client, source: server, commit: t.v2, workdir: work)
        let fsck = try Harness.ostree(client, "fsck")
        XCTAssertFalse(fsck.lowercased().contains("partial"), "the commit is still partial: \(fsck)")
        try? FileManager.default.removeItem(atPath: work)
    }
}
