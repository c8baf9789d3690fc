import DeltaFormat
import Foundation
import XCTest

/// Messages that used to mislead: each problem says what it is, in one line naming the path.
final class MessageTests: XCTestCase {
    private let nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]

    func testUnreadableRepositoryIsPermissionDenied() throws {
        try XCTSkipUnless(getuid() == 0, "needs root to run as nobody")
        let small = try SmallRepo.shared()
        let repo = try small.copy()
        let parent = URL(fileURLWithPath: repo).deletingLastPathComponent().path
        try Harness.check(["chmod", "0755", parent])
        try Harness.check([Harness.deltagen, "generate-delta", "--repo", repo, "--quiet", small.v1, small.v2])
        let delta = "\(small.v1)-\(small.v2)"
        try Harness.check(["chmod", "0700", repo])
        for args in [["show", "--repo", repo, delta], ["verify", "--repo", repo, delta],
                     ["generate-delta", "--repo", repo, small.v2], ["bench-parts", "--repo", repo, small.v1, small.v2]] {
            let r = try Harness.run(nobody + [Harness.deltagen] + args)
            assertOneLineError(r, contains: "cannot open repository \(repo): permission denied", args[0], status: 2)
        }
        // A readable directory whose config is not readable.
        try Harness.check(["chmod", "-R", "a+rX", repo])
        try Harness.check(["chmod", "0600", repo + "/config"])
        let r = try Harness.run(nobody + [Harness.deltagen, "show", "--repo", repo, delta])
        assertOneLineError(r, contains: "cannot open repository \(repo): permission denied", status: 2)
        // A directory without config is still "not an OSTree repository".
        let empty = try Harness.makeTemporaryDirectory()
        assertOneLineError(try Harness.run([Harness.deltagen, "show", "--repo", empty, delta]),
                           contains: "\(empty) is not an OSTree repository (no config file)", status: 2)
    }

    func testMergeDeltasRefusesPathsItCannotUse() throws {
        let small = try SmallRepo.shared()
        let upload = try small.copy()
        try Harness.check([Harness.deltagen, "generate-delta", "--repo", upload, "--quiet", small.v1, small.v2])
        let dir = try Harness.makeTemporaryDirectory()
        let file = dir + "/a-file"
        try Fleet.write("not a directory\n", to: file)

        // --archive naming a file: found before anything is copied or indexed.
        var r = try Harness.run([Harness.deltagen, "merge-deltas", upload, "--repo", dir + "/pub", "--archive", file])
        assertOneLineError(r, contains: "the stats directory \(file) exists and is not a directory", status: 2)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/pub"))
        XCTAssertFalse(r.stderr.contains("NSCocoaErrorDomain"), r.stderr)

        // --repo naming a directory with other content: refused, not turned into a repository.
        let busy = dir + "/busy"
        try FileManager.default.createDirectory(atPath: busy, withIntermediateDirectories: false)
        try Fleet.write("keep me\n", to: busy + "/notes.txt")
        r = try Harness.run([Harness.deltagen, "merge-deltas", upload, "--repo", busy, "--archive", dir + "/archive"])
        assertOneLineError(r, contains: "\(busy) is not empty and is not an OSTree repository", status: 2)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: busy), ["notes.txt"])

        r = try Harness.run([Harness.deltagen, "merge-deltas", upload, "--repo", file, "--archive", dir + "/archive"])
        assertOneLineError(r, contains: "\(file) exists and is not a directory", status: 2)

        // An empty directory is fine: it becomes the repository.
        let fresh = dir + "/fresh"
        try FileManager.default.createDirectory(atPath: fresh, withIntermediateDirectories: false)
        try Harness.check([Harness.deltagen, "merge-deltas", upload, "--repo", fresh, "--archive", dir + "/archive"])
        XCTAssertTrue(FileManager.default.fileExists(atPath: fresh + "/config"))
    }

    func testCIJobPathsAndFileURLs() throws {
        let dir = try Harness.makeTemporaryDirectory()
        let hex = String(repeating: "ab", count: 32)
        let file = dir + "/a-file"
        try Fleet.write("x\n", to: file)
        func job(_ url: String, workdir: String) throws -> CommandResult {
            try Fleet.write(Fleet.deltasFile(to: (hex, url), froms: []), to: dir + "/d.json")
            return try Harness.run([Harness.deltagen, "ci-job", "--deltas", dir + "/d.json", "--workdir", workdir])
        }
        var r = try job("file:///nonexistent/v.tar", workdir: file + "/sub")
        assertOneLineError(r, contains: "cannot create the repository \(file)/sub/ostree_repo: ", status: 2)
        XCTAssertTrue(r.stderr.hasSuffix("/a-file exists and is not a directory\n"), r.stderr)

        for url in ["file://host/tmp/v.tar", "file://localhost/tmp/v.tar", "file:v.tar", "file:/tmp/v.tar", "file:./v.tar"] {
            r = try job(url, workdir: dir + "/w")
            XCTAssertEqual(r.status, 2, url)
            XCTAssertEqual(r.stderr, "error: unsupported tarball URL \(url): a file URL must be file:///absolute/path\n")
        }
        r = try job("http:///v.tar", workdir: dir + "/w")
        XCTAssertEqual(r.stderr, "error: unsupported tarball URL http:///v.tar: no host\n")
        // --remote-url follows the same rule.
        try Fleet.write(Fleet.deltasFile(to: (hex, ""), froms: []), to: dir + "/remote.json")
        for url in ["file://host/repo", "file:repo", "ftp://127.0.0.1/repo"] {
            r = try Harness.run([Harness.deltagen, "ci-job", "--deltas", dir + "/remote.json", "--workdir", dir + "/w",
                                 "--remote-url", url])
            XCTAssertEqual(r.status, 2, url)
            XCTAssertTrue(r.stderr.hasPrefix("error: unsupported --remote-url \(url): "), r.stderr)
            XCTAssertEqual(r.stderr.filter { $0 == "\n" }.count, 1, r.stderr)
        }
    }
}
