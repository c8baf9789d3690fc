import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import XCTest

/// `deltagen plan` as an operator runs it, and `deltagen bench-parts`.
final class PlanCLITests: XCTestCase {
    static let status = """
        {"total-devices": 9,
         "tags": [{"name": "promoted", "targets": [
                    {"version": 7, "devices": 4, "is-orphan": false},
                    {"version": 5, "devices": 1, "is-orphan": false},
                    {"version": 6, "devices": 1, "is-orphan": true},
                    {"version": 10, "devices": 1, "is-orphan": false}]},
                  {"name": "main", "targets": [{"version": 9, "devices": 2, "is-orphan": false}]}],
         "prod-tags": [{"name": "promoted", "targets": [
                    {"version": 5, "devices": 2, "is-orphan": false},
                    {"version": 2, "devices": 1, "is-orphan": false}]}]}
        """

    private func plan(_ args: [String]) throws -> CommandResult {
        let dir = try Harness.makeTemporaryDirectory()
        try Fleet.write(PlanCLITests.status, to: dir + "/status.json")
        return try Harness.run([Harness.deltagen, "plan"] + args.map { $0.replacingOccurrences(of: "@", with: dir + "/") })
    }

    func testDryRunIsByteIdenticalToFioctl() throws {
        // fioctl's order: explicit, CI tag, prod tag, with the duplicate 5 kept.
        let fioctl = try plan(["--dry-run", "--fioctl-order", "--status", "@status.json", "--by-tag", "promoted", "9", "3"])
        XCTAssertEqual(fioctl.stdout, """
            Dry run: Would generate static deltas for Target versions:
               3 -> 9
               7 -> 9
               5 -> 9
               5 -> 9
               2 -> 9

            """)
        XCTAssertEqual(fioctl.status, 0)
        XCTAssertEqual(fioctl.stderr, "")
        // Our default: the same format, each version once, newest first.
        let ours = try plan(["--dry-run", "--status", "@status.json", "--by-tag", "promoted", "9", "3"])
        XCTAssertEqual(ours.stdout, "Dry run: Would generate static deltas for Target versions:\n   7 -> 9\n   5 -> 9\n   3 -> 9\n   2 -> 9\n")
        let hw = try plan(["--dry-run", "--hw-id", "rpi", "9", "7", "5"])
        XCTAssertEqual(hw.stdout, "Dry run: Would generate static deltas for Targets with hardware ID rpi and versions:\n   7 -> 9\n   5 -> 9\n")
    }

    func testErrorsAreFioctlsOnOneLine() throws {
        let cases: [([String], String)] = [
            (["--dry-run", "9", "7", "9"], "error: from-version 9 is newer than to-version 9\n"),
            (["--dry-run", "--status", "@status.json", "--by-tag", "beta", "9"], "error: No tags named 'beta' found\n"),
            (["--dry-run", "--status", "@status.json", "--by-tag", "main", "9"], "error: No Targets found to generate deltas for.\n"),
            (["--dry-run", "9", "seven"], "error: version \"seven\" is not an integer (a CI build number)\n"),
            (["--dry-run", "--by-tag", "main", "9"], "error: --by-tag needs --status FILE, the factory status JSON\n"),
            (["9", "7"], "error: --targets FILE is needed to resolve versions to commits (or use --dry-run)\n"),
        ]
        for (args, message) in cases {
            let r = try plan(args)
            XCTAssertEqual(r.status, 2, args.joined(separator: " "))
            XCTAssertEqual(r.stdout, "", args.joined(separator: " "))
            XCTAssertEqual(r.stderr, message, args.joined(separator: " "))
        }
        let missing = try plan(["--targets", "@missing.json", "9", "7"])
        XCTAssertEqual(missing.status, 2)
        XCTAssertTrue(missing.stderr.hasPrefix("error: cannot read /") && missing.stderr.hasSuffix("/missing.json: no such file\n"),
                      missing.stderr)
    }

    func testResolvedPlanWithHardwareIDWarnings() throws {
        let tarballs = try FleetTarballs.shared()
        let t = tarballs.repo
        let dir = try Harness.makeTemporaryDirectory()
        try Fleet.write(tarballs.targetsJSON(), to: dir + "/targets.json")
        let r = try Harness.run([Harness.deltagen, "plan", "--targets", dir + "/targets.json", "--hw-id", "qemu", "3", "2", "1", "0"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stderr, "warning: version 0 has no Target for hardware ID qemu; skipped\n")
        XCTAssertEqual(r.stdout, "qemu: version 3 is \(t.v3)\n   2 -> 3  \(t.v2)\n   1 -> 3  \(t.v1)\n")
        let deltas = try Harness.check([Harness.deltagen, "plan", "--targets", dir + "/targets.json", "3", "1",
                                        "--format", "deltas", "--tarball-url", "https://ci.example/{version}/{hw_id}.tar.bz2"])
        let parsed = try JSONSerialization.jsonObject(with: Data(deltas.utf8)) as? [[String: [Any]]]
        XCTAssertEqual(parsed?.first?["to"] as? [String], [t.v3, "https://ci.example/3/qemu.tar.bz2"])
        XCTAssertEqual(parsed?.first?["froms"] as? [[String]], [[t.v1, "https://ci.example/1/qemu.tar.bz2"]])
    }
}

final class BenchPartsTests: XCTestCase {
    func testTableAndChart() throws {
        let t = try TestRepo.shared()
        let dir = try Harness.makeTemporaryDirectory()
        let before = try Harness.run(["find", t.path + "/deltas"]).stdout
        let out = try Harness.check([Harness.deltagen, "bench-parts", "--repo", t.path, t.v2, t.v3,
                                     "--chunk-sizes", "0.5,8", "--rtt-ms", "80", "--bandwidth-mbit", "10",
                                     "--svg", dir + "/chart.svg"])
        let lines = out.split(separator: "\n").map(String.init)
        XCTAssertTrue(lines[1].contains("chunk MB") && lines[1].contains("largest part") && lines[1].contains("modelled s"), out)
        let rows = lines.filter { $0.trimmingCharacters(in: .whitespaces).hasPrefix("0.5 ") || $0.trimmingCharacters(in: .whitespaces).hasPrefix("8 ") }
        XCTAssertEqual(rows.count, 2, out)
        // The smaller limit can only mean as many parts or more.
        let parts = rows.map { Int($0.split(separator: " ")[1])! }
        XCTAssertGreaterThanOrEqual(parts[0], parts[1])
        XCTAssertTrue(out.contains("object-by-object pull: "), out)
        XCTAssertTrue(out.contains("model: 80 ms round trip, 10 Mbit/s, 8 requests in flight"), out)

        let svg = try Data(contentsOf: URL(fileURLWithPath: dir + "/chart.svg"))
        let parser = XMLParser(data: svg)
        let names = ElementNames()
        parser.delegate = names
        XCTAssertTrue(parser.parse(), "the chart is not well-formed XML")
        XCTAssertEqual(names.all.first, "svg")
        XCTAssertEqual(names.all.filter { $0 == "polyline" }.count, 4)
        XCTAssertEqual(try Harness.run(["find", t.path + "/deltas"]).stdout, before, "the repository's deltas/ changed")

        let json = try Harness.check([Harness.deltagen, "bench-parts", "--repo", t.path, t.v2, t.v3,
                                      "--chunk-sizes", "8", "--json"])
        let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
        let row = try XCTUnwrap((object?["rows"] as? [[String: Any]])?.first)
        XCTAssertEqual(row["chunkSizeMB"] as? Double, 8)
        XCTAssertNotNil(row["totalBytes"] as? Int)

        let bad = try Harness.run([Harness.deltagen, "bench-parts", "--repo", t.path, t.v2, t.v3, "--chunk-sizes", "8,x"])
        XCTAssertEqual(bad.status, 2)
        XCTAssertEqual(bad.stderr, "error: --chunk-sizes must be sizes from 0.000001 to 9223372036854 MB, separated by commas, not 8,x\n")
    }
}

final class ElementNames: NSObject, XMLParserDelegate {
    var all: [String] = []
    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) {
        all.append(name)
    }
}
