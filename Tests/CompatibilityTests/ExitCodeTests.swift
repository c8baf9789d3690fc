import Foundation
import TestUtilities
import XCTest

/// One case of each documented exit code (DeltaGen's help, README "Exit codes"): 0 a good
/// run; 1 the delta work failed; 2 usage or bad input; 3 fetch or network; 4 no space or I/O.
/// Each failure is one `error:` line and nothing on stdout.
final class ExitCodeTests: XCTestCase {
    private func assertExit(_ r: CommandResult, _ code: Int32, contains text: String,
                            file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(r.status, code, "stderr: \(r.stderr)", file: file, line: line)
        XCTAssertEqual(r.stdout, "", file: file, line: line)
        let errors = r.stderr.split(separator: "\n").filter { $0.hasPrefix("error: ") }
        XCTAssertEqual(errors.count, 1, r.stderr, file: file, line: line)
        XCTAssertTrue(errors.first?.contains(text) == true, "expected \"\(text)\" in: \(r.stderr)", file: file, line: line)
    }

    func testGoodRunIsZero() throws {
        let small = try SmallRepo.shared()
        let repo = try small.copy()
        let r = try Harness.run([Harness.deltagen, "generate-delta", "--repo", repo, "-q", small.v1, small.v2])
        XCTAssertEqual(r.status, 0, r.stderr)
    }

    /// A corrupt object in the source repository: the delta work fails.
    func testCorruptSourceObjectIsOne() throws {
        let small = try SmallRepo.shared()
        let repo = try small.copy()
        let (_, checksum) = small.newInV2.sorted(by: { $0.key < $1.key })[0]
        let path = "\(repo)/objects/\(checksum.prefix(2))/\(checksum.dropFirst(2)).filez"
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        bytes[bytes.count / 2] ^= 0x10
        try bytes.write(to: URL(fileURLWithPath: path))
        let r = try Harness.run([Harness.deltagen, "generate-delta", "--repo", repo, "--min-fallback-size", "0",
                                 small.v1, small.v2])
        assertExit(r, 1, contains: "corrupt")
    }

    func testUnknownRevIsTwo() throws {
        let small = try SmallRepo.shared()
        let r = try Harness.run([Harness.deltagen, "generate-delta", "--repo", small.path, small.v1, "no-such-ref"])
        assertExit(r, 2, contains: "cannot resolve TO no-such-ref")
    }

    /// A tarball URL on 127.0.0.1 whose port refuses the connection, and a server that
    /// answers 404: both are network failures.
    func testFetchFailuresAreThree() throws {
        let tarballs = try FleetTarballs.shared()
        let t = tarballs.repo
        let refused = "http://127.0.0.1:\(refusedLoopbackPort())/v2.tar"
        let server = try HostileHTTPServer(directory: tarballs.dir)
        for (url, text) in [(refused, "connection refused"), (server.url + "missing.tar", "HTTP 404")] {
            let work = try Harness.makeTemporaryDirectory()
            try Fleet.write(Fleet.deltasFile(to: (t.v2, url), froms: [(t.v1, tarballs.fileURL("v1"))]), to: work + "/d.json")
            let r = try Harness.run([Harness.deltagen, "ci-job", "--deltas", work + "/d.json", "--workdir", work + "/w"])
            assertExit(r, 3, contains: text)
        }
    }

    /// ci-job's workdir on a 1 MB tmpfs: extracting the tarballs runs out of space.
    func testNoSpaceIsFour() throws {
        guard getuid() == 0 else { throw XCTSkip("mounting a tmpfs needs root") }
        let tarballs = try FleetTarballs.shared()
        let t = tarballs.repo
        let work = try Harness.makeTemporaryDirectory()
        let mnt = work + "/mnt"
        try FileManager.default.createDirectory(atPath: mnt, withIntermediateDirectories: true)
        let mount = try Harness.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", mnt])
        guard mount.status == 0 else { throw XCTSkip("mount -t tmpfs refused: \(mount.stderr)") }
        defer { _ = try? Harness.run(["umount", "-l", mnt]) }
        try Fleet.write(Fleet.deltasFile(to: (t.v2, tarballs.fileURL("v2")), froms: [(t.v1, tarballs.fileURL("v1"))]),
                        to: work + "/d.json")
        let r = try Harness.run([Harness.deltagen, "ci-job", "--deltas", work + "/d.json", "--workdir", mnt + "/w"])
        assertExit(r, 4, contains: "No space left on device")
    }
}
