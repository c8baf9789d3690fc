import DeltaFormat
import Foundation
import XCTest

/// Each bad input gets one `error:` line on stderr, a non-zero exit, and leaves the repo as it was.
final class BadInputTests: XCTestCase {
    /// A repo copy that already holds one delta, so "unchanged" means something.
    private func repoWithDelta() throws -> (TestRepo, String) {
        let t = try TestRepo.shared()
        let repo = try t.copy()
        try Harness.check([Harness.deltagen, "generate-delta", "--repo", repo, "--empty", t.v1])
        return (t, repo)
    }

    private func assertFails(_ repo: String, _ args: [String], stderrContains expected: String, status: Int32 = 1,
                             runAs prefix: [String] = [], file: StaticString = #filePath, line: UInt = #line) throws {
        let before = try DeltaAudit.snapshot(repo)
        let r = try Harness.run(prefix + [Harness.deltagen, "generate-delta", "--repo", repo] + args)
        assertOneLineError(r, contains: expected, status: status, file: file, line: line)
        XCTAssertEqual(try DeltaAudit.snapshot(repo), before, "deltas/ changed", file: file, line: line)
        XCTAssertEqual(DeltaAudit.stagingLeftovers(repo), [], "staging left in tmp/", file: file, line: line)
    }

    func testMissingPathAndNonRepository() throws {
        let (t, _) = try repoWithDelta()
        let r = try Harness.run([Harness.deltagen, "generate-delta", "--repo", "/nonexistent/deltagen-repo", t.v1, t.v2])
        XCTAssertEqual(r.status, 2)
        XCTAssertEqual(r.stderr, "error: repository /nonexistent/deltagen-repo does not exist\n")
        let empty = try Harness.makeTemporaryDirectory()
        try assertFails(empty, [t.v1, t.v2], stderrContains: "is not an OSTree repository", status: 2)
    }

    func testUnknownRef() throws {
        let (t, repo) = try repoWithDelta()
        try assertFails(repo, ["no-such-ref", t.v2], stderrContains: "cannot resolve FROM no-such-ref", status: 2)
        try assertFails(repo, [t.v1, String(repeating: "ab", count: 32)],
                        stderrContains: "TO commit \(String(repeating: "ab", count: 32)) is not in the repository", status: 2)
    }

    func testFromEqualsTo() throws {
        let (t, repo) = try repoWithDelta()
        try assertFails(repo, [t.v2, "v2"], stderrContains: "FROM and TO are the same commit \(t.v2)", status: 2)
    }

    func testWrongObjectType() throws {
        let (t, repo) = try repoWithDelta()
        let listing = try Harness.ostree(repo, "ls", "-Cd", t.v2, "/")
        let dirtree = String(listing.split(separator: " ", omittingEmptySubsequences: true)[4])
        try assertFails(repo, [dirtree, t.v2], stderrContains: "FROM \(dirtree) is a dirtree object, not a commit", status: 2)
    }

    func testMissingAndCorruptObjectsInAPartialRepo() throws {
        let (t, repo) = try repoWithDelta()
        func objectPath(_ checksum: String, _ suffix: String) -> String {
            "\(repo)/objects/\(checksum.prefix(2))/\(checksum.dropFirst(2)).\(suffix)"
        }
        // A content object that only v2 has.
        let file = String(try Harness.ostree(repo, "ls", "-C", t.v2, "/new/hello.txt").split(separator: " ")[4])
        try FileManager.default.moveItem(atPath: objectPath(file, "filez"), toPath: repo + "/saved.filez")
        try assertFails(repo, [t.v1, t.v2], stderrContains: "object \(file).file is missing from the repository")
        try FileManager.default.moveItem(atPath: repo + "/saved.filez", toPath: objectPath(file, "filez"))

        // v2's dirtree for /new: missing, then corrupt.
        let tree = String(try Harness.ostree(repo, "ls", "-Cd", t.v2, "/new").split(separator: " ")[4])
        let treePath = objectPath(tree, "dirtree")
        let original = try Data(contentsOf: URL(fileURLWithPath: treePath))
        try FileManager.default.removeItem(atPath: treePath)
        try assertFails(repo, [t.v1, t.v2], stderrContains: "object \(tree).dirtree is missing from the repository")
        var flipped = original
        flipped[flipped.count / 2] ^= 0x01
        try flipped.write(to: URL(fileURLWithPath: treePath))
        try assertFails(repo, [t.v1, t.v2], stderrContains: "object \(tree).dirtree is corrupt")
    }

    func testUnwritableDeltasDirectory() throws {
        let (t, repo) = try repoWithDelta()
        let repoParent = URL(fileURLWithPath: repo).deletingLastPathComponent().path
        var prefix: [String] = []
        if getuid() == 0 {
            // root ignores permission bits, so run as nobody against a world-readable repo
            // whose tmp/ is writable and whose deltas/ is not.
            try Harness.check(["chmod", "-R", "a+rX", repo])
            try Harness.check(["chmod", "0755", repoParent])
            try Harness.check(["chmod", "1777", repo + "/tmp"])
            prefix = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
        }
        try Harness.check(["chmod", "-R", "a-w", repo + "/deltas"])
        defer { _ = try? Harness.run(["chmod", "-R", "u+w", repo + "/deltas"]) }
        try assertFails(repo, [t.v1, t.v2], stderrContains: "Permission denied", status: 2, runAs: prefix)
        try assertFails(repo, ["--empty", t.v1], stderrContains: "Permission denied", status: 2, runAs: prefix)
    }

    func testUsageErrors() throws {
        let (t, repo) = try repoWithDelta()
        let both = try Harness.run([Harness.deltagen, "generate-delta", "--repo", repo, "--empty", t.v1, t.v2])
        XCTAssertNotEqual(both.status, 0)
        XCTAssertTrue(both.stderr.contains("Cannot specify both --empty and FROM"), both.stderr)
        let none = try Harness.run([Harness.deltagen, "generate-delta", "--repo", repo])
        XCTAssertNotEqual(none.status, 0)
        XCTAssertTrue(none.stderr.contains("TO revision must be specified"), none.stderr)
        let badShow = try Harness.run([Harness.deltagen, "show", "--repo", repo, "../../etc/passwd-x"])
        XCTAssertEqual(badShow.status, 2)
        let badName = try Harness.run([Harness.deltagen, "show", "--repo", repo, "not-a-delta"])
        XCTAssertEqual(badName.status, 2)
        XCTAssertTrue(badName.stderr.hasPrefix("error: invalid delta name not-a-delta"), badName.stderr)
    }
}
