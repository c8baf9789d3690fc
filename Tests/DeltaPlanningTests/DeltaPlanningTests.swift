import DeltaFormat
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import XCTest
@testable import DeltaPlanning

/// Hand-made fleet inputs in the shapes of the workflow document.
enum Fixtures {
    static let status = """
        {"total-devices": 40,
         "tags": [
           {"name": "main", "devices-total": 3, "targets": [{"version": 8, "devices": 3, "is-orphan": false}]},
           {"name": "promoted", "devices-total": 20, "latest-target": 7, "targets": [
             {"version": 7, "devices": 10, "is-orphan": false},
             {"version": 5, "devices": 4, "is-orphan": false},
             {"version": 4, "devices": 2, "is-orphan": true},
             {"version": 9, "devices": 1, "is-orphan": false},
             {"version": 12, "devices": 1}]},
           {"name": "promoted", "targets": [{"version": 1, "devices": 1, "is-orphan": false}]}],
         "prod-tags": [
           {"name": "promoted", "targets": [
             {"version": 5, "devices": 9, "is-orphan": false},
             {"version": 3, "devices": 2, "is-orphan": false},
             {"version": 6, "devices": 1, "is-orphan": true}]},
           {"name": "prod-only", "targets": [{"version": 2, "devices": 5, "is-orphan": false}]},
           {"name": "stale", "targets": [{"version": 6, "devices": 5, "is-orphan": true}, {"version": 11, "devices": 1}]}],
         "wave-tags": [{"name": "wave", "targets": [{"version": 1, "devices": 1}]}]}
        """

    static func commit(_ n: Int) -> String { String(repeating: String(format: "%02x", n), count: 32) }

    static func target(_ name: String, _ version: String, _ hw: String, commit: String, uri: String? = nil,
                       format: String = "OSTREE") -> String {
        let uriField = uri.map { ", \"uri\": \"\($0)\"" } ?? ""
        return """
            "\(name)": {"hashes": {"sha256": "\(commit)"}, "length": 0,
              "custom": {"name": "\(hw)-lmp", "version": "\(version)", "hardwareIds": ["\(hw)"],
                         "targetFormat": "\(format)", "tags": ["promoted"]\(uriField)}}
            """
    }

    /// Two boards. rpi has 3, 5, 7, 9 and a non-numeric version; imx lacks 5 and shares
    /// one commit between 3 and 7.
    static let targets: String = {
        let entries = [
            target("rpi-lmp-3", "3", "rpi", commit: commit(3), uri: "https://ci.example/builds/3"),
            target("rpi-lmp-5", "5", "rpi", commit: commit(5)),
            target("rpi-lmp-7", "7", "rpi", commit: commit(7), uri: "https://ci.example/builds/7/"),
            target("rpi-lmp-9", "9", "rpi", commit: commit(9), uri: "https://ci.example/builds/9"),
            target("rpi-lmp-dev", "dev", "rpi", commit: commit(0x40)),
            target("imx-lmp-3", "3", "imx", commit: commit(0x13), uri: "https://ci.example/builds/3"),
            target("imx-lmp-7", "7", "imx", commit: commit(0x13), uri: "https://ci.example/builds/7"),
            target("imx-lmp-9", "9", "imx", commit: commit(0x19), uri: "https://ci.example/builds/9"),
            target("shellhttpd-9", "9", "rpi", commit: commit(0x77), format: "BINARY"),
        ]
        return """
            {"signatures": [], "signed": {"_type": "Targets", "version": 12, "targets": {
            \(entries.joined(separator: ",\n"))}}}
            """
    }()

    static func fleet() throws -> FleetStatus { try FleetStatus(json: Data(status.utf8)) }
    static func targetsFile() throws -> TargetsFile { try TargetsFile(json: Data(targets.utf8)) }
}

final class VersionSelectionTests: XCTestCase {
    func testTagInBothListsKeepsFioctlOrderAndDuplicates() throws {
        // Explicit first, then CI "promoted" (first entry only; no orphans, nothing >= 9), then prod.
        let froms = try Planner.fioctlVersions(to: 9, explicit: [8, 5], tag: "promoted", status: try Fixtures.fleet())
        XCTAssertEqual(froms, [8, 5, 7, 5, 5, 3])
        XCTAssertEqual(Planner.dedupedNewestFirst(froms), [8, 7, 5, 3])
    }

    func testDryRunTextIsFioctls() throws {
        XCTAssertEqual(Planner.dryRunText(to: 9, froms: [7, 5], hardwareID: nil),
                       "Dry run: Would generate static deltas for Target versions:\n   7 -> 9\n   5 -> 9\n")
        XCTAssertEqual(Planner.dryRunText(to: 9, froms: [-1], hardwareID: "rpi"),
                       "Dry run: Would generate static deltas for Targets with hardware ID rpi and versions:\n   -1 -> 9\n")
    }

    func testTagOnlyInProdAndVersionsAtOrAboveToAreDropped() throws {
        let fleet = try Fixtures.fleet()
        XCTAssertEqual(try Planner.fioctlVersions(to: 9, explicit: [], tag: "prod-only", status: fleet), [2])
        XCTAssertEqual(try Planner.fioctlVersions(to: 13, explicit: [], tag: "promoted", status: fleet), [7, 5, 9, 12, 5, 3])
        // Versions <= 0 are not filtered on the client, as in fioctl.
        XCTAssertEqual(try Planner.fioctlVersions(to: 9, explicit: [0, -3], tag: nil, status: nil), [0, -3])
    }

    func testErrorsAreFioctls() throws {
        let fleet = try Fixtures.fleet()
        XCTAssertThrowsError(try Planner.fioctlVersions(to: 9, explicit: [7, 9], tag: nil, status: nil)) {
            XCTAssertEqual("\($0)", "from-version 9 is newer than to-version 9")
        }
        XCTAssertThrowsError(try Planner.fioctlVersions(to: 9, explicit: [], tag: "beta", status: fleet)) {
            XCTAssertEqual("\($0)", "No tags named 'beta' found")
        }
        // Every version on "stale" is an orphan or not older than 9.
        XCTAssertThrowsError(try Planner.fioctlVersions(to: 9, explicit: [], tag: "stale", status: fleet)) {
            XCTAssertEqual("\($0)", "No Targets found to generate deltas for.")
        }
        XCTAssertThrowsError(try Planner.fioctlVersions(to: 9, explicit: [], tag: nil, status: nil)) {
            XCTAssertEqual($0 as? PlanError, .nothingToDo)
        }
        // An explicit bad from stops before the tag is even looked up, as in fioctl.
        XCTAssertThrowsError(try Planner.fioctlVersions(to: 9, explicit: [10], tag: "beta", status: fleet)) {
            XCTAssertEqual($0 as? PlanError, .fromNotOlder(from: 10, to: 9))
        }
    }

    func testStatusShapeErrorsSayWhere() {
        XCTAssertThrowsError(try FleetStatus(json: Data(#"{"tags":[{"name":"x","targets":[{"version":"7"}]}]}"#.utf8))) {
            XCTAssertEqual("\($0)", "status.json: tags[0].targets[0].version: expected an integer")
        }
        XCTAssertThrowsError(try FleetStatus(json: Data("[1".utf8))) { XCTAssertEqual("\($0)", "status.json: not valid JSON") }
        XCTAssertThrowsError(try FleetStatus(json: Data(#"{"tags":[{"targets":[]}]}"#.utf8))) {
            XCTAssertEqual("\($0)", #"status.json: tags[0]: missing "name""#)
        }
    }
}

final class ResolutionTests: XCTestCase {
    func testTargetsParsing() throws {
        let t = try Fixtures.targetsFile()
        XCTAssertEqual(t.targets.count, 8, "the BINARY Target is skipped")
        let dev = try XCTUnwrap(t.targets.first { $0.name == "rpi-lmp-dev" })
        XCTAssertEqual(dev.versionNumber, -1, "a non-numeric version reads as -1, as in fioctl")
        XCTAssertEqual(t.hardwareIDs(withVersion: 9), ["imx", "rpi"])
        XCTAssertNil(t.targets.first { $0.name == "rpi-lmp-5" }?.uri)

        let bad = Fixtures.targets.replacingOccurrences(of: Fixtures.commit(5), with: "abc")
        XCTAssertThrowsError(try TargetsFile(json: Data(bad.utf8))) {
            XCTAssertEqual("\($0)", #"targets.json: signed.targets.rpi-lmp-5.hashes.sha256: "abc" is not a 64-hex OSTree commit checksum"#)
        }
    }

    func testResolvePerHardwareIDWithWarningsAndSharedCommits() throws {
        let template = try URLTemplate("{uri}/runs/{hw_id}/other/{hw_id}-ostree_repo.tar.bz2")
        let plan = try Planner.resolve(to: 9, froms: [7, 5, 3], targets: try Fixtures.targetsFile(), hardwareID: nil,
                                       tarballURL: template)
        XCTAssertEqual(plan.groups.map(\.hardwareID), ["imx", "rpi"])
        let imx = plan.groups[0], rpi = plan.groups[1]
        XCTAssertEqual(imx.froms.map(\.version), [7], "imx 3 shares 7's commit")
        XCTAssertEqual(rpi.froms.map(\.version), [7, 5, 3])
        XCTAssertEqual(rpi.to.url, "https://ci.example/builds/9/runs/rpi/other/rpi-ostree_repo.tar.bz2")
        XCTAssertEqual(rpi.froms[0].url, "https://ci.example/builds/7/runs/rpi/other/rpi-ostree_repo.tar.bz2")
        XCTAssertEqual(rpi.froms[1].url, "", "no custom.uri: the CI job pulls it from the remote")
        XCTAssertEqual(plan.warnings, ["version 5 has no Target for hardware ID imx; skipped",
                                       "version 3 of imx has the same commit as version 7; no separate delta"])
        XCTAssertEqual(plan.pairCount, 4)
        XCTAssertEqual(plan.text(), """
            imx: version 9 is \(Fixtures.commit(0x19))
               7 -> 9  \(Fixtures.commit(0x13))
            rpi: version 9 is \(Fixtures.commit(9))
               7 -> 9  \(Fixtures.commit(7))
               5 -> 9  \(Fixtures.commit(5))
               3 -> 9  \(Fixtures.commit(3))

            """)
    }

    func testDeltasFileAndMatrix() throws {
        let plan = try Planner.resolve(to: 9, froms: [7, 5], targets: try Fixtures.targetsFile(), hardwareID: "rpi",
                                       tarballURL: try URLTemplate("file:///t/{version}-{commit}.tgz"))
        let file = plan.deltasFile()
        XCTAssertEqual(file.count, 1)
        let json = try DeltasFile.encode(file)
        XCTAssertTrue(json.contains("file:///t/9-\(Fixtures.commit(9)).tgz"), json)
        XCTAssertEqual(try DeltasFile.parse(Data(json.utf8)), file, "the deltas file reads back")
        let matrix = plan.matrix()
        XCTAssertEqual(matrix.include.map(\.fromVersion), [7, 5])
        XCTAssertEqual(matrix.include[0].name, "rpi 7->9")
        let line = try compactJSON(matrix)
        XCTAssertFalse(line.contains("\n"))
        XCTAssertTrue(line.hasPrefix(#"{"include":[{"from":""#), line)
    }

    func testHardwareIDFilterAndResolutionErrors() throws {
        let targets = try Fixtures.targetsFile()
        let (kept, warnings) = Planner.filter(froms: [7, 5, 3], hardwareID: "imx", targets: targets)
        XCTAssertEqual(kept, [7, 3])
        XCTAssertEqual(warnings, ["version 5 has no Target for hardware ID imx; skipped"])
        XCTAssertThrowsError(try Planner.resolve(to: 8, froms: [7], targets: targets, hardwareID: nil)) {
            XCTAssertEqual("\($0)", "no OSTree Target has version 8")
        }
        XCTAssertThrowsError(try Planner.resolve(to: 9, froms: [7], targets: targets, hardwareID: "x86")) {
            XCTAssertEqual("\($0)", "no OSTree Target has version 9 and hardware ID x86")
        }
        XCTAssertThrowsError(try Planner.resolve(to: 9, froms: [4], targets: targets, hardwareID: nil)) {
            XCTAssertEqual($0 as? PlanError, .nothingToDo)
        }
        XCTAssertThrowsError(try URLTemplate("https://x/{build}")) {
            XCTAssertEqual("\($0)", "--tarball-url: unknown placeholder {build}; use {version}, {hw_id}, {commit}, {name} or {uri}")
        }
        let clash = Fixtures.targets.replacingOccurrences(of: "\"rpi-lmp-dev\"", with: "\"rpi-lmp-9b\"")
            .replacingOccurrences(of: "\"version\": \"dev\"", with: "\"version\": \"9\"")
        XCTAssertThrowsError(try Planner.resolve(to: 9, froms: [7], targets: try TargetsFile(json: Data(clash.utf8)),
                                                 hardwareID: "rpi")) {
            XCTAssertEqual("\($0)", "Targets rpi-lmp-9, rpi-lmp-9b all have version 9 and hardware ID rpi but different commits")
        }
    }
}

final class DeltasFileTests: XCTestCase {
    let a = Fixtures.commit(0xa1), b = Fixtures.commit(0xb2)

    func testNullAndEmptyURLsMeanRemote() throws {
        let r = try DeltasFile.parse(Data(#"[{"to":["\#(a)","https://x/a.tar.bz2"],"froms":[["\#(b)",null],["\#(a)",""]]}]"#.utf8))
        XCTAssertEqual(r[0].to.url, "https://x/a.tar.bz2")
        XCTAssertEqual(r[0].froms.map(\.hasTarball), [false, false])
    }

    func testStrictShape() {
        let cases: [(String, String)] = [
            (#"[{"to":["\#(a)",""],"froms":[],"extra":1}]"#, #"deltas file: [0]: unexpected key "extra"; an entry has exactly "to" and "froms""#),
            (#"[{"to":["\#(a)",""]}]"#, #"deltas file: [0]: needs both "to" and "froms""#),
            (#"[{"to":["xyz",""],"froms":[]}]"#, #"deltas file: [0].to[0]: "xyz" is not a 64-hex commit checksum"#),
            (#"[{"to":["\#(a)"],"froms":[]}]"#, "deltas file: [0].to: expected [commit, url]"),
            (#"{"to":[]}"#, "deltas file: expected a list"),
            ("[]", "deltas file: lists no deltas"),
        ]
        for (text, message) in cases {
            XCTAssertThrowsError(try DeltasFile.parse(Data(text.utf8))) { XCTAssertEqual("\($0)", message, text) }
        }
    }
}

final class DeltaStatsTests: XCTestCase {
    func testCanonicalBytesMatchTheWorkflowDocumentsExample() throws {
        // The example file of the workflow document, §3.4: 276 bytes, sha256 9180b598…f066.
        let to = Checksum(hex: "9b2f0c1e5a7d4c3b8e6f1a2d0c9b8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b")!
        let f1 = Checksum(hex: "3c1e7a9b5d2f4e6a8c0b1d3f5e7a9c2b4d6f8e0a1c3e5b7d9f2a4c6e8b0d1f3a")!
        let f2 = Checksum(hex: "7e5d3c1b9a8f6e4d2c0b1a3f5e7d9c8b6a4f2e0d1c3b5a7f9e8d6c4b2a0f1e3d")!
        var stats = DeltaStats()
        stats[from: f2, to: to] = .init(size: 9_120_544, uSize: 30_867_456)
        stats[from: f1, to: to] = .init(size: 48_213_377, uSize: 161_390_592)
        let bytes = stats.canonicalBytes()
        let ref = DeltaStats.reference(for: bytes)
        XCTAssertEqual(ref.size, 276)
        XCTAssertEqual(ref.sha256, "9180b5986b26569dacb66a5cc401c5fd110ea93ea4824d369b40ff24a13af066")
        XCTAssertEqual(ref.json, #"{"sha256":"9180b5986b26569dacb66a5cc401c5fd110ea93ea4824d369b40ff24a13af066","size":276}"#)
        // Reading pretty JSON back and writing it again gives the canonical bytes.
        let pretty = try JSONSerialization.data(withJSONObject: try JSONSerialization.jsonObject(with: Data(bytes)),
                                                options: [.prettyPrinted])
        XCTAssertEqual(try DeltaStats(json: pretty).canonicalBytes(), bytes)
    }

    func testMergeKeepsEarlierFromsAndReplacesTheSamePair() {
        let to = Checksum(hex: Fixtures.commit(9))!, f1 = Checksum(hex: Fixtures.commit(1))!, f2 = Checksum(hex: Fixtures.commit(2))!
        var old = DeltaStats()
        old[from: f1, to: to] = .init(size: 1, uSize: 2)
        old[from: f2, to: to] = .init(size: 3, uSize: 4)
        var new = DeltaStats()
        new[from: f2, to: to] = .init(size: 5, uSize: 6)
        old.merge(new)
        XCTAssertEqual(old[from: f1, to: to], .init(size: 1, uSize: 2))
        XCTAssertEqual(old[from: f2, to: to], .init(size: 5, uSize: 6))
    }

    func testBadStatsFilesAreRefused() {
        let to = Fixtures.commit(9), from = Fixtures.commit(1)
        let cases: [(String, String)] = [
            (#"{"\#(to)":{"\#(from)":{"size":1}}}"#, "delta-stats: \(to).\(from): expected exactly \"size\" and \"u_size\""),
            (#"{"\#(to)":{"\#(from)":{"size":-1,"u_size":2}}}"#, "delta-stats: \(to).\(from).size: expected a non-negative integer"),
            (#"{"nope":{}}"#, "delta-stats: nope: key is not a commit checksum"),
        ]
        for (text, message) in cases {
            XCTAssertThrowsError(try DeltaStats(json: Data(text.utf8))) { XCTAssertEqual("\($0)", message) }
        }
    }
}

final class BenchModelTests: XCTestCase {
    let rows = [
        BenchRow(chunkSizeMB: 8, parts: 20, fallbacks: 2, totalBytes: 100_000_000, uncompressedBytes: 300_000_000,
                 largestPart: 6_000_000, largestPartUncompressed: 8_000_000, superblockBytes: 10_000),
        BenchRow(chunkSizeMB: 32, parts: 5, fallbacks: 2, totalBytes: 99_000_000, uncompressedBytes: 300_000_000,
                 largestPart: 24_000_000, largestPartUncompressed: 32_000_000, superblockBytes: 4_000),
    ]

    func testModelCountsRoundsAndBytes() {
        let model = DownloadModel(rttMs: 100, bandwidthMbit: 8, concurrency: 8)
        // 22 requests after the superblock: 3 rounds, plus the superblock's own; 100,010,000 bytes at 1 MB/s.
        XCTAssertEqual(model.deltaSeconds(rows[0]), 0.4 + 100.01, accuracy: 1e-9)
        XCTAssertEqual(model.deltaSeconds(rows[1]), 0.2 + 99.004, accuracy: 1e-9)
        XCTAssertEqual(model.objectPullSeconds(objects: 1000, bytes: 120_000_000), 12.5 + 120, accuracy: 1e-9)
    }

    func testTableAndSVG() throws {
        let model = DownloadModel(rttMs: 50, bandwidthMbit: 20)
        let pull = ObjectPullCost(objects: 5000, bytes: 140_000_000, modelledSeconds: 87.5)
        let table = BenchReport.table(rows: rows, objectPull: pull, model: model)
        XCTAssertTrue(table.contains("object-by-object pull: 5000 requests, 140000000 bytes, 87.50 s modelled"), table)
        XCTAssertEqual(table.split(separator: "\n").count, 5)
        let svg = BenchReport.svg(rows: rows, objectPull: pull, model: model, title: "a <b> & \"c\"")
        let checker = SVGChecker()
        let parser = XMLParser(data: Data(svg.utf8))
        parser.delegate = checker
        XCTAssertTrue(parser.parse(), "not well-formed: \(parser.parserError.map { "\($0)" } ?? "")")
        XCTAssertEqual(checker.elements.first, "svg")
        // Four panels of one series each; a marker per point and one in each legend.
        XCTAssertEqual(checker.elements.filter { $0 == "polyline" }.count, 4)
        XCTAssertEqual(checker.elements.filter { $0 == "circle" }.count, 4 * 2 + 4)
    }

    func testChartPrintsValuesLegendsAndDeviceCosts() throws {
        let model = DownloadModel(rttMs: 50, bandwidthMbit: 20, concurrency: 8)
        let pull = ObjectPullCost(objects: 5000, bytes: 140_000_000, modelledSeconds: 87.5)
        var rows = self.rows
        for i in rows.indices { rows[i].modelledSeconds = model.deltaSeconds(rows[i]) }
        // 20 parts of at most 6 MB (8 MB payload), then 5 of 24 MB (32 MB payload).
        XCTAssertEqual(DeviceCost(row: rows[0], concurrency: 8),
                       DeviceCost(memoryBytes: 14_000_000, temporaryDiskBytes: 8 * 6_000_000 + 8_000_000))
        XCTAssertEqual(DeviceCost(row: rows[1], concurrency: 8).temporaryDiskBytes, 5 * 24_000_000 + 32_000_000,
                       "never more parts in flight than there are")
        let svg = BenchReport.svg(rows: rows, objectPull: pull, model: model, title: "t")
        let texts = SVGText.all(in: svg)
        // Every value is on the chart, not only in a tooltip.
        for value in ["100", "99.0", "140", "87.5", "14.0", "56.0", "56.0", "152"] {
            XCTAssertTrue(texts.contains(value), "\(value) is not printed: \(texts)")
        }
        XCTAssertTrue(texts.contains(String(format: "%.1f", rows[0].modelledSeconds)), "\(texts)")
        XCTAssertTrue(texts.contains("object-by-object pull (5000 requests)"), "a legend names the dashed line")
        XCTAssertTrue(texts.contains("largest part + largest payload (upper bound)"))
        XCTAssertTrue(texts.contains("min(parts, 8) × largest part + largest payload"))
        XCTAssertEqual(texts.filter { $0 == "--max-chunk-size (MB), logarithmic scale" }.count, 4)
        XCTAssertTrue(texts.contains("Peak device memory to apply a part (MB)"))
        XCTAssertTrue(texts.contains("Temporary disk on the device (MB)"))
        XCTAssertFalse(svg.contains("<title>"), "nothing is left to hover")
    }

    func testLogAxisSpacesDoublingsEvenlyAndTicksAreRound() {
        let xs = BenchChart.positions([0.25, 0.5, 2, 32], left: 0, right: 700)
        XCTAssertEqual(xs[0], 0, accuracy: 1e-9)
        XCTAssertEqual(xs[1], 100, accuracy: 1e-9, "one doubling is one seventh of 0.25 -> 32")
        XCTAssertEqual(xs[2], 300, accuracy: 1e-9)
        XCTAssertEqual(xs[3], 700, accuracy: 1e-9)
        XCTAssertEqual(BenchChart.positions([8], left: 0, right: 100), [50])
        XCTAssertEqual(BenchChart.niceStep(0.97), 1)
        XCTAssertEqual(BenchChart.niceStep(1.9), 2)
        XCTAssertEqual(BenchChart.niceStep(38), 50)
        XCTAssertEqual(BenchChart.tickLabel(0.25, step: 0.05), "0.25")
    }
}

/// The text content of every <text> element of an SVG.
final class SVGText: NSObject, XMLParserDelegate {
    private var texts: [String] = []
    private var current: String?

    static func all(in svg: String) -> [String] {
        let collector = SVGText()
        let parser = XMLParser(data: Data(svg.utf8))
        parser.delegate = collector
        _ = parser.parse()
        return collector.texts
    }

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) {
        if name == "text" { current = "" }
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) { current? += string }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        if name == "text", let current { texts.append(current) }
        current = nil
    }
}

final class SVGChecker: NSObject, XMLParserDelegate {
    var elements: [String] = []
    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) {
        elements.append(name)
    }
}
