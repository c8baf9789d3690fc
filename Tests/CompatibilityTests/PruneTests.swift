import DeltaFormat
import Foundation
import OSTreeRepo
import XCTest

/// `deltagen prune`: with a status file only the deltas from versions no device runs go,
/// and the stats, indexes and summary then match what remains; --dry-run changes nothing.
final class PruneTests: XCTestCase {
    /// Three tiny commits (versions 1-3), deltas 1→3, 2→3 and from scratch to 3, with
    /// indexes, summary and stats as merge-deltas leaves them.
    private struct Fixture {
        let work: String, repo: String, archive: String
        let c1: String, c2: String, c3: String

        init() throws {
            work = try Harness.makeTemporaryDirectory()
            repo = work + "/repo"
            archive = work + "/archive"
            try Harness.ostree(repo, "init", "--mode=archive")
            var commits: [String] = []
            for i in 1...3 {
                let tree = "\(work)/t\(i)"
                try FileManager.default.createDirectory(atPath: tree, withIntermediateDirectories: true)
                try Data(String(repeating: "release \(i)\n", count: 2000 * i).utf8).write(to: URL(fileURLWithPath: tree + "/app"))
                commits.append(try Harness.ostree(repo, "commit", "-b", "main", "-s", "v\(i)", "--no-xattrs",
                                                  "--timestamp=2024-01-01T00:00:00Z", "--tree=dir=\(tree)")
                    .trimmingCharacters(in: .whitespacesAndNewlines))
            }
            (c1, c2, c3) = (commits[0], commits[1], commits[2])
            for args in [[c1, c3], [c2, c3], ["--empty", c3]] {
                try Harness.check([Harness.deltagen, "generate-delta", "--repo", repo] + args)
            }
            try Harness.check([Harness.deltagen, "merge-deltas", "--repo", repo, "--archive", archive, repo])
            let targets = [(1, c1), (2, c2), (3, c3)].map { version, commit in
                "\"qemu-lmp-\(version)\": {\"hashes\": {\"sha256\": \"\(commit)\"}, \"length\": 0, \"custom\": "
                    + "{\"name\": \"qemu-lmp\", \"version\": \"\(version)\", \"hardwareIds\": [\"qemu\"], "
                    + "\"targetFormat\": \"OSTREE\", \"tags\": [\"main\"]}}"
            }
            try Fleet.write("{\"signed\": {\"_type\": \"Targets\", \"targets\": {\(targets.joined(separator: ","))}}}",
                            to: work + "/targets.json")
            // Devices on main run version 2 (and 3); version 1 is an orphan no device runs.
            try Fleet.write("""
                {"tags": [{"name": "main", "targets": [{"version": 3, "devices": 1}, {"version": 2, "devices": 4},
                                                       {"version": 1, "devices": 0, "is-orphan": true}]}],
                 "prod-tags": [{"name": "other", "targets": [{"version": 1, "devices": 9}]}]}
                """, to: work + "/status.json")
        }

        var pruneArguments: [String] {
            [Harness.deltagen, "prune", "--repo", repo, "--status", work + "/status.json", "--by-tag", "main",
             "--targets", work + "/targets.json", "--archive", archive]
        }

        func deltas() throws -> [String] {
            try Harness.ostree(repo, "static-delta", "list").split(separator: "\n").map(String.init).sorted()
        }

        func state() throws -> [String: String] {
            var out = try PublishFixture.contents(repo).filter { !$0.key.hasSuffix("lock") }
            out["archive"] = try Fleet.sha256("\(archive)/\(c3).json")
            return out
        }
    }

    func testStatusFileRemovesOnlyUnneededDeltasAndStatsAndIndexesMatch() throws {
        let f = try Fixture()
        let objectsBefore = try PublishFixture.contents(f.repo + "/objects")
        let out = try Harness.check(f.pruneArguments)
        XCTAssertTrue(out.contains("removed delta \(f.c1)-\(f.c3)"), out)
        XCTAssertEqual(try f.deltas(), ["\(f.c2)-\(f.c3)", f.c3].sorted())
        XCTAssertEqual(try PublishFixture.contents(f.repo + "/objects"), objectsBefore, "objects changed")
        try Harness.ostree(f.repo, "fsck")
        XCTAssertEqual(try Harness.ostree(f.repo, "rev-parse", f.c1).trimmingCharacters(in: .whitespacesAndNewlines), f.c1)

        // Stats and index equal what merge-deltas writes for a repository that only ever
        // had the remaining deltas.
        let reference = f.work + "/reference"
        try Harness.ostree(reference, "init", "--mode=archive")
        for name in ["\(f.c2)-\(f.c3)", f.c3] {
            let rel = DeltaName(name)!.relativePath
            try FileManager.default.createDirectory(atPath: "\(reference)/\((rel as NSString).deletingLastPathComponent)",
                                                    withIntermediateDirectories: true)
            try Harness.check(["cp", "-a", "\(f.repo)/\(rel)", "\(reference)/\(rel)"])
        }
        try Harness.check([Harness.deltagen, "merge-deltas", "--repo", reference, "--archive", f.work + "/ref-archive", reference])
        XCTAssertEqual(try String(contentsOfFile: "\(f.archive)/\(f.c3).json", encoding: .utf8),
                       try String(contentsOfFile: "\(f.work)/ref-archive/\(f.c3).json", encoding: .utf8))
        let index = DeltaName(f.c3)!.indexRelativePath
        XCTAssertEqual(try Fleet.sha256("\(f.repo)/\(index)"), try Fleet.sha256("\(reference)/\(index)"))
        XCTAssertEqual(try Repository(path: f.repo).indexedDeltas(to: Checksum(hex: f.c3)!).map(\.description).sorted(),
                       ["\(f.c2)-\(f.c3)", f.c3].sorted())
        // The summary no longer names the removed delta.
        let summary = try Harness.ostree(f.repo, "summary", "--view")
        XCTAssertFalse(summary.contains("\(f.c1)-\(f.c3)"), summary)
        XCTAssertTrue(summary.contains("'\(f.c2)-\(f.c3)'"), summary)

        // A second prune finds nothing to do; --keep-from by version gives the same plan.
        XCTAssertTrue(try Harness.check(f.pruneArguments).contains("Pruned 0 deltas"))
        let byVersion = try Harness.check([Harness.deltagen, "prune", "--repo", f.repo, "--keep-from", "2",
                                           "--targets", f.work + "/targets.json", "--dry-run"])
        XCTAssertTrue(byVersion.contains("Dry run: 0 deltas would be removed"), byVersion)
    }

    /// A device on version 1 pulls version 3 over HTTP while prune removes the 1→3 delta
    /// (waiting 300 ms between steps): every pull gets a whole delta, 1→3 or, once 1→3 has
    /// left the index, the from-scratch one.
    func testPullsDuringPruneSeeAWholeDeltaOrNone() throws {
        let f = try Fixture()
        let http = try LoopbackHTTPServer(directory: f.repo)
        let template = try Harness.makeTemporaryDirectory() + "/client"
        try Harness.ostree(template, "init", "--mode=bare-user")
        try Harness.ostree(template, "pull-local", f.repo, f.c1)
        try Harness.ostree(template, "remote", "add", "--no-gpg-verify", "origin", http.url)
        func pull() throws -> String {
            let client = try Harness.makeTemporaryDirectory() + "/client"
            try Harness.check(["cp", "-a", template, client])
            let r = try Harness.run(["ostree", "--repo=\(client)", "pull", "--require-static-deltas", "origin", f.c3])
            if r.status == 0 { return "pulled" }
            return r.stderr.contains("Static deltas required, but none found") ? "no delta" : r.stderr
        }
        XCTAssertEqual(try pull(), "pulled")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Harness.deltagen)
        process.arguments = Array(f.pruneArguments.dropFirst())
        process.environment = ProcessInfo.processInfo.environment.merging(["DELTAGEN_TEST_PUBLISH_DELAY_MS": "300"]) { $1 }
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        var outcomes: [String] = []
        while process.isRunning { outcomes.append(try pull()) }
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
        // The index drops 1→3 before its superblock goes, so a device always has a delta: 1→3
        // whole, or from scratch. (Superblock first, as ostree 2022.7 reports a missing
        // superblock as "none found", left devices without a delta for a moment.)
        XCTAssertEqual(outcomes.filter { $0 != "pulled" }, [], "pulls failed during prune")
        XCTAssertGreaterThanOrEqual(outcomes.count, 2)
        // The device now takes the from-scratch delta.
        let scratch = "/\(DeltaName(f.c3)!.relativePath)/superblock"
        let before = http.servedPaths().filter { $0 == scratch }.count
        XCTAssertEqual(try pull(), "pulled")
        XCTAssertEqual(http.servedPaths().filter { $0 == scratch }.count, before + 1)
        print("pulls during prune: \(outcomes)")
    }

    func testDryRunPrintsThePlanAndChangesNothing() throws {
        let f = try Fixture()
        let before = try f.state()
        let out = try Harness.check(f.pruneArguments + ["--dry-run"])
        XCTAssertEqual(out.split(separator: "\n").first.map(String.init), "would remove delta \(f.c1)-\(f.c3)")
        XCTAssertTrue(out.contains("would rewrite \(f.archive)/\(f.c3).json"), out)
        XCTAssertTrue(out.contains("Dry run: 1 deltas would be removed"), out)
        XCTAssertEqual(try f.state(), before)
        XCTAssertEqual(try f.deltas().count, 3)
    }

    func testBadInputIsOneErrorLine() throws {
        let f = try Fixture()
        let before = try f.state()
        let unknownTag = try Harness.run([Harness.deltagen, "prune", "--repo", f.repo, "--status", f.work + "/status.json",
                                          "--by-tag", "nope", "--targets", f.work + "/targets.json"])
        XCTAssertEqual(unknownTag.status, 2, unknownTag.stderr)
        XCTAssertTrue(unknownTag.stderr.hasPrefix("error: "), unknownTag.stderr)
        assertOneLineError(try Harness.run([Harness.deltagen, "prune", "--repo", f.repo, "--keep-from", "7",
                                            "--targets", f.work + "/targets.json"]), contains: "version 7 has no Target", status: 2)
        assertOneLineError(try Harness.run([Harness.deltagen, "prune", "--repo", f.repo, "--keep-from", "2"]),
                           contains: "--targets FILE is needed", status: 2)
        XCTAssertEqual(try f.state(), before)
    }
}
