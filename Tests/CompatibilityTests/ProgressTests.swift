import Foundation
import XCTest

/// Progress: a redrawn line on a terminal, plain lines in logs, nothing with --quiet.
final class ProgressTests: XCTestCase {
    private func arguments(_ t: TestRepo, _ out: String, _ extra: [String] = []) -> [String] {
        [Harness.deltagen, "generate-delta", "--repo", t.path, "--filename", out + "/superblock"] + extra + [t.v1, t.v2]
    }

    func testPlainLinesWhenStderrIsNotATerminal() throws {
        let t = try TestRepo.shared()
        let r = try Harness.run(arguments(t, try Harness.makeTemporaryDirectory()))
        XCTAssertEqual(r.status, 0)
        let lines = r.stderr.split(separator: "\n").map(String.init)
        for phase in ["scanning", "pairing", "encoding", "compressing", "verifying", "writing"] {
            XCTAssertTrue(lines.contains("deltagen: \(phase)"), "no \(phase) line in:\n\(r.stderr)")
        }
        XCTAssertTrue(lines.contains { $0.hasPrefix("deltagen: encoding ") && $0.contains("/") })
        XCTAssertFalse(r.stderr.contains("\r"))
        XCTAssertTrue(r.stdout.hasPrefix("Generated static delta"))
    }

    func testQuietPrintsNothingButErrors() throws {
        let t = try TestRepo.shared()
        let r = try Harness.run(arguments(t, try Harness.makeTemporaryDirectory(), ["--quiet"]))
        XCTAssertEqual(r.status, 0)
        XCTAssertEqual(r.stdout, "")
        XCTAssertEqual(r.stderr, "")
        let bad = try Harness.run([Harness.deltagen, "generate-delta", "-q", "--repo", t.path, "no-such-ref", t.v2])
        XCTAssertEqual(bad.status, 2)
        XCTAssertTrue(bad.stderr.hasPrefix("error: cannot resolve FROM no-such-ref"), bad.stderr)
    }

    func testBarRedrawnInPlaceOnATerminal() throws {
        let t = try TestRepo.shared()
        // script(1) gives the command a pseudo-terminal, as an operator's shell would.
        let command = arguments(t, try Harness.makeTemporaryDirectory()).map { "'\($0)'" }.joined(separator: " ")
        let r = try Harness.run(["script", "-qec", command + " >/dev/null", "/dev/null"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("\r\u{1B}[Kdeltagen: encoding "), r.stdout.debugDescription)
        XCTAssertTrue(r.stdout.contains("#"), "no progress bar drawn")
        XCTAssertFalse(r.stdout.contains("deltagen: scanning\n"), "terminal output should not be line by line")
    }
}
