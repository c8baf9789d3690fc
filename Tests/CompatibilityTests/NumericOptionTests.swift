import Foundation
import XCTest

/// Every numeric option of every command, at 0, -1, 2^63-1 and 1e300: a value outside the
/// option's documented range is a usage error (exit 2, one line naming the option and its
/// range); a value inside it is accepted, and the largest sizes run without overflow.
final class NumericOptionTests: XCTestCase {
    private static let values = ["0", "-1", "9223372036854775807", "1e300"]

    /// command, the arguments that make an accepted value fail fast afterwards (exit 1), and
    /// per option the values among `values` that are in range.
    private static let options: [(command: String, rest: [String], accepted: [String: Set<String>])] = [
        ("generate-delta", ["--repo", "/nonexistent/deltagen-repo", "a", "b"], [
            "--min-fallback-size": ["0"], "--max-chunk-size": [], "--max-bsdiff-size": ["0"],
            "--xz-dict-size": [], "--timestamp": ["0", "9223372036854775807"], "--jobs": [],
            "--stall-timeout": ["0"], "--memory-limit": [],
        ]),
        ("ci-job", ["--deltas", "/nonexistent/deltas.json"], [
            "--parallel": [], "--max-download-size": [], "--download-stall-timeout": ["0"],
            "--min-fallback-size": ["0"], "--max-chunk-size": [], "--jobs": [],
        ]),
        ("bench-parts", ["--repo", "/nonexistent/deltagen-repo", "a", "b"], [
            "--chunk-sizes": [], "--rtt-ms": ["0"], "--bandwidth-mbit": [], "--concurrency": [],
            "--min-fallback-size": ["0"], "--jobs": [],
        ]),
    ]

    func testEveryNumericOptionIsRangeChecked() throws {
        for (command, rest, accepted) in NumericOptionTests.options {
            for (option, inRange) in accepted {
                for value in NumericOptionTests.values {
                    let label = "\(command) \(option) \(value)"
                    let r = try Harness.run([Harness.deltagen, command, option, value] + rest)
                    let lines = r.stderr.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.isEmpty }
                    if inRange.contains(value) {
                        XCTAssertEqual(r.status, 2, "\(label): accepted, then the missing input: \(r.stderr)")
                        XCTAssertTrue(r.stderr.contains("/nonexistent/"), "\(label): \(r.stderr)")
                        continue
                    }
                    XCTAssertEqual(r.status, 2, "\(label): \(r.stderr)")
                    XCTAssertEqual(lines.count, 1, "\(label): one line: \(r.stderr)")
                    let line = lines.first.map(String.init) ?? ""
                    XCTAssertTrue(line.hasPrefix("error: \(option) must be"), "\(label): \(line)")
                    XCTAssertTrue(line.contains(" from ") || line.contains(" between "), "\(label): no range in \(line)")
                    XCTAssertEqual(r.stdout, "", label)
                }
            }
        }
    }

    func testHelpStatesEachRange() throws {
        for (command, _, accepted) in NumericOptionTests.options {
            let full = try Harness.check([Harness.deltagen, command, "--help"])
                .replacingOccurrences(of: "\n", with: " ").split(separator: " ").joined(separator: " ")
            let help = full.range(of: "OPTIONS:").map { String(full[$0.upperBound...]) } ?? full
            for option in accepted.keys {
                guard let at = help.range(of: option + " <") else { XCTFail("\(command) \(option) not in help"); continue }
                let text = help[at.upperBound...].prefix(400)
                XCTAssertNotNil(text.range(of: #"\d[–-]\d|from \d|between \d"#, options: .regularExpression),
                                "\(command) \(option): no range in its help: \(text)")
            }
        }
    }

    func testUsageErrorsExitTwoWithOneLine() throws {
        for args in [["generate-delta", "--bogus"], ["generate-delta", "--jobs"], ["show"], ["ci-job", "--deltas"],
                     ["merge-deltas", "--repo", "/x"]] {
            let r = try Harness.run([Harness.deltagen] + args)
            XCTAssertEqual(r.status, 2, "\(args): \(r.stderr)")
            XCTAssertEqual(r.stderr.filter { $0 == "\n" }.count, 1, "\(args): \(r.stderr)")
            XCTAssertTrue(r.stderr.hasPrefix("error: "), r.stderr)
        }
        let help = try Harness.run([Harness.deltagen, "generate-delta", "--help"])
        XCTAssertEqual(help.status, 0)
        XCTAssertTrue(help.stdout.contains("USAGE"), help.stdout)
    }

    /// The largest sizes are valid and must not overflow anywhere (they once trapped).
    func testLargestValuesRun() throws {
        let small = try SmallRepo.shared()
        let out = try Harness.makeTemporaryDirectory()
        let max = "9223372036854"
        let generated = try Harness.run([Harness.deltagen, "generate-delta", "--repo", small.path, "--quiet",
                                         "--max-chunk-size", max, "--min-fallback-size", max, "--max-bsdiff-size", max,
                                         "--timestamp", "9223372036854775807", "--jobs", "256",
                                         "--filename", out + "/delta", small.v1, small.v2])
        XCTAssertEqual(generated.status, 0, generated.stderr)
        let shown = try Harness.check([Harness.deltagen, "show", out + "/delta"])
        XCTAssertTrue(shown.contains("Timestamp: 9223372036854775807"), shown)

        let bench = try Harness.run([Harness.deltagen, "bench-parts", "--repo", small.path, small.v1, small.v2,
                                     "--chunk-sizes", "\(max),0.000001", "--rtt-ms", "3600000", "--bandwidth-mbit", "0.001",
                                     "--concurrency", "1024", "--jobs", "256", "--min-fallback-size", max])
        XCTAssertEqual(bench.status, 0, bench.stderr)
    }
}
