import DeltaInsight
import Foundation
import XCTest

/// `deltagen explain` on real deltas, deltagen's and ostree's: its totals are `show`'s, every
/// object is attributed to where it lands in TO, and its measured advice holds up when the
/// image is rebuilt the way it advises.
final class ExplainTests: XCTestCase {
    private func explain(_ repo: String, _ delta: String) throws -> ExplainReport {
        let out = try Harness.check([Harness.deltagen, "explain", "--repo", repo, "--json", delta])
        return try ExplainReport.decode(Data(out.utf8))
    }

    /// `ostree ls -RC` of `commit`: each (type, checksum) with the paths that hold it.
    private func listing(_ repo: String, _ commit: String) throws -> [String: Set<String>] {
        var map: [String: Set<String>] = ["commit \(commit)": ["(commit)"]]
        for line in try Harness.ostree(repo, "ls", "-RC", commit).split(separator: "\n") {
            let f = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            if line.hasPrefix("d") {
                let path = f[6...].joined(separator: " ")
                map["dirtree \(f[4])", default: []].insert(path)
                map["dirmeta \(f[5])", default: []].insert(path)
            } else {
                let path = f[5...].joined(separator: " ").components(separatedBy: " -> ")[0]
                map["file \(f[4])", default: []].insert(path)
            }
        }
        return map
    }

    private func checkAgainstShow(_ repo: String, _ delta: String, to: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let report = try explain(repo, delta)
        let show = try JSONSerialization.jsonObject(with: Data(try Harness.check(
            [Harness.deltagen, "show", "--repo", repo, "--json", delta]).utf8)) as! [String: Any]
        XCTAssertEqual(report.totalSize, (show["totalSize"] as! NSNumber).uint64Value, file: file, line: line)
        XCTAssertEqual(report.totalUncompressedSize, (show["totalUncompressedSize"] as! NSNumber).uint64Value, file: file, line: line)
        XCTAssertEqual(report.totalPartSize, (show["totalPartSize"] as! NSNumber).uint64Value, file: file, line: line)
        // ostree's own show prints the same total (2022.7's show cannot read an inline delta).
        if show["inline"] as? Bool == false {
            XCTAssertEqual(try Stock.showTotals(repo: repo, delta: delta).first?.hasPrefix("Total Size: \(report.totalSize) ("), true,
                           file: file, line: line)
        }
        // Every object of every part and every fallback is in the report once, with its bytes.
        let parts = show["parts"] as! [[String: Any]]
        let listed = parts.reduce(0) { $0 + ($1["objects"] as! Int) } + (show["fallbacks"] as! [Any]).count
        XCTAssertEqual(report.objects.count, listed, file: file, line: line)
        XCTAssertEqual(report.objects.reduce(0) { $0 + $1.bytes }, report.totalSize, file: file, line: line)
        for buckets in [report.byKind, report.byEncoding, report.byDirectory] {
            XCTAssertEqual(buckets.reduce(0) { $0 + $1.bytes }, report.totalSize, file: file, line: line)
        }
        for (i, part) in parts.enumerated() {
            let sum = report.objects.filter { $0.part == i }.reduce(0) { $0 + $1.bytes }
            XCTAssertEqual(sum, (part["size"] as! NSNumber).uint64Value, "part \(i)", file: file, line: line)
        }
        // Every object is attributed to a path of TO that really holds it.
        let tree = try listing(repo, to)
        for o in report.objects {
            XCTAssertTrue(tree["\(o.type) \(o.checksum)"]?.contains(o.path) == true,
                          "\(o.type) \(o.checksum) reported at \(o.path)", file: file, line: line)
        }
        XCTAssertEqual(report.costliest, Array(report.objects.prefix(20)), file: file, line: line)
    }

    func testTotalsEqualShowAndEveryObjectHasItsPathOnDeltagenAndOstreeDeltas() throws {
        let t = try TestRepo.shared()
        let ours = try t.copy(), theirs = try t.copy()
        try Harness.check([Harness.deltagen, "generate-delta", "--repo", ours, "--max-chunk-size", "1", t.v1, t.v2])
        try Harness.check([Harness.deltagen, "generate-delta", "--repo", ours, "--inline", "--empty", t.v3])
        try Harness.ostree(theirs, "static-delta", "generate", "--from=\(t.v1)", "--to=\(t.v2)")
        try Harness.ostree(theirs, "static-delta", "generate", "--empty", "--to=\(t.v3)")
        for repo in [ours, theirs] {
            try checkAgainstShow(repo, "\(t.v1)-\(t.v2)", to: t.v2)
            try checkAgainstShow(repo, t.v3, to: t.v3)
        }
        // ostree's delta has a fallback (big2.img): it counts at its stored size.
        let report = try explain(theirs, "\(t.v1)-\(t.v2)")
        XCTAssertEqual(report.objects.first?.encoding, .fallback)
        XCTAssertEqual(report.objects.first?.path, "/data/big2.img")
        XCTAssertEqual(report.objects.first?.bytes, report.totalFallbackSize)
    }

    func testBadInputGetsOneErrorLine() throws {
        let t = try TestRepo.shared()
        // A delta the repository does not have, and a malformed name: bad input, exit 2.
        let r = try Harness.run([Harness.deltagen, "explain", "--repo", t.path, "\(t.v1)-\(t.v2)"])
        XCTAssertEqual(r.status, 2)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
        XCTAssertTrue(r.stderr.hasPrefix("error: "), r.stderr)
        let bad = try Harness.run([Harness.deltagen, "explain", "--repo", t.path, "not-a-delta"])
        XCTAssertEqual(bad.status, 2)
        XCTAssertTrue(bad.stderr.hasPrefix("error: invalid delta name"), bad.stderr)
    }
}

/// The measured advice for `.gz` files, checked against the delta of the image rebuilt as
/// advised: the same pair with those files stored uncompressed.
final class ExplainAdviceTests: XCTestCase {
    /// Man-page-like text: lines of words from a small vocabulary, so it compresses as text does.
    private func document(_ rng: inout SeededGenerator, lines: Int) -> [String] {
        let words = ["the", "option", "file", "system", "update", "package", "kernel", "module", "returns", "value",
                     "configuration", "default", "error", "when", "set", "directory", "network", "service", "user", "changes"]
        return (0..<lines).map { i in
            ".TP \(i) " + (0..<Int.random(in: 4...12, using: &rng)).map { _ in words.randomElement(using: &rng)! }.joined(separator: " ")
        }
    }

    /// A repository with two commits of `count` documents under /doc, v2 editing a few lines
    /// of each and appending a changelog entry; gzip'd with `gzip -n` when `gzipped`.
    private func makePair(gzipped: Bool, count: Int, changeDocuments: Bool = true) throws -> (repo: String, v1: String, v2: String) {
        let dir = try Harness.makeTemporaryDirectory()
        var rng = SeededGenerator(seed: 0x6a11)
        let fm = FileManager.default
        for tree in ["t1/doc", "t2/doc"] { try fm.createDirectory(atPath: "\(dir)/\(tree)", withIntermediateDirectories: true) }
        for k in 0..<count {
            var lines = document(&rng, lines: 1500 + 100 * k)
            let name = "page\(k).txt"
            try (lines.joined(separator: "\n") + "\n").write(toFile: "\(dir)/t1/doc/\(name)", atomically: true, encoding: .utf8)
            for _ in 0..<5 { lines[Int.random(in: 0..<lines.count, using: &rng)] = document(&rng, lines: 1)[0] }
            lines.insert(contentsOf: document(&rng, lines: 20), at: 0)
            if !changeDocuments { lines = try String(contentsOfFile: "\(dir)/t1/doc/\(name)", encoding: .utf8).components(separatedBy: "\n").dropLast() }
            try (lines.joined(separator: "\n") + "\n").write(toFile: "\(dir)/t2/doc/\(name)", atomically: true, encoding: .utf8)
            if gzipped {
                for tree in ["t1", "t2"] { try Harness.check(["gzip", "-n", "-9", "\(dir)/\(tree)/doc/\(name)"]) }
            }
        }
        // A kernel image, replaced wholesale between the two commits: explain flags it.
        for tree in ["t1", "t2"] {
            try fm.createDirectory(atPath: "\(dir)/\(tree)/usr/lib/modules/6.1.0-1", withIntermediateDirectories: true)
            try Data((0..<40_000).map { _ in UInt8.random(in: 0...255, using: &rng) })
                .write(to: URL(fileURLWithPath: "\(dir)/\(tree)/usr/lib/modules/6.1.0-1/vmlinuz"))
        }
        let repo = dir + "/repo"
        try Harness.ostree(repo, "init", "--mode=archive")
        func commit(_ tree: String) throws -> String {
            try Harness.ostree(repo, "commit", "-b", "docs", "-s", tree, "--no-xattrs", "--owner-uid=0", "--owner-gid=0",
                               "--timestamp=2024-01-01T00:00:00Z", "--tree=dir=\(dir)/\(tree)")
                .trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let v1 = try commit("t1"), v2 = try commit("t2")
        try Harness.check([Harness.deltagen, "generate-delta", "--repo", repo, v1, v2])
        return (repo, v1, v2)
    }

    private func explain(_ repo: String, _ delta: String) throws -> ExplainReport {
        try ExplainReport.decode(Data(try Harness.check([Harness.deltagen, "explain", "--repo", repo, "--json", delta]).utf8))
    }

    func testUncompressedCostPredictionMatchesTheRebuiltDelta() throws {
        let count = 8
        let gz = try makePair(gzipped: true, count: count)
        let gzReport = try explain(gz.repo, "\(gz.v1)-\(gz.v2)")
        let advice = try XCTUnwrap(gzReport.advice.streams.first { $0.format == .gzip })
        XCTAssertEqual(advice.changedFiles, count)
        XCTAssertEqual(advice.measuredFiles, count)
        let predicted = Double(try XCTUnwrap(advice.uncompressedCost))

        let plain = try makePair(gzipped: false, count: count)
        let plainReport = try explain(plain.repo, "\(plain.v1)-\(plain.v2)")
        // The real cost is the rebuilt delta's size less that of the same pair with the
        // documents unchanged: that measures what shipping them costs whatever explain's
        // attribution says, so it is the sounder of the two measures; it includes the /doc
        // dirtree a client fetches because they changed. What explain attributes to them in
        // the rebuilt delta must agree as well.
        let unchanged = try makePair(gzipped: false, count: count, changeDocuments: false)
        let control = try explain(unchanged.repo, "\(unchanged.v1)-\(unchanged.v2)")
        XCTAssertFalse(control.objects.contains { $0.path.hasPrefix("/doc/page") })
        let real = Double(plainReport.totalSize) - Double(control.totalSize)
        let documents = plainReport.objects.filter { $0.path.hasPrefix("/doc/page") }
        XCTAssertEqual(documents.count, count)
        let attributed = Double(documents.reduce(0) { $0 + $1.bytes })
        print("explain advice: .gz files cost \(advice.deltaBytes) bytes; predicted uncompressed \(Int(predicted)), "
              + "real \(Int(real)) (delta size difference), attributed \(Int(attributed))")
        XCTAssertLessThanOrEqual(abs(predicted - real) / real, 0.15, "predicted \(predicted), real \(real)")
        XCTAssertLessThanOrEqual(abs(attributed - real) / real, 0.15, "attributed \(attributed), real \(real)")
        // And the advice is worth taking: the gzip'd files cost far more in the first delta.
        XCTAssertGreaterThan(Double(advice.deltaBytes), 2 * real)
        XCTAssertEqual(Set(gzReport.objects.filter { $0.path.hasPrefix("/doc/page") }.map(\.kind)), [.compressedStream])
        XCTAssertEqual(Set(documents.map(\.kind)), [.text])
        let kernel = try XCTUnwrap(gzReport.advice.kernelImages.first)
        XCTAssertEqual(kernel.path, "/usr/lib/modules/6.1.0-1/vmlinuz")
        XCTAssertGreaterThan(kernel.bytes, 30_000)
        XCTAssertTrue(gzReport.adviceLines().contains { $0.contains("kernel image /usr/lib/modules/6.1.0-1/vmlinuz: ") })
        let line = gzReport.adviceLines().first { $0.contains("changed .gz files") } ?? ""
        XCTAssertTrue(line.contains("shipped uncompressed they would cost") && line.hasSuffix("(measured)"), line)
    }
}
