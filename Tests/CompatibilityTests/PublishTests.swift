import DeltaFormat
import Foundation
import XCTest

/// `deltagen publish`: stock clients pulling over HTTP while it runs, kill -9 at random
/// moments, --dry-run, and a rerun that copies nothing.
final class PublishTests: XCTestCase {
    /// Starts `arguments` with `environment` added, without waiting.
    private func start(_ arguments: [String], environment: [String: String] = [:]) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: arguments[0])
        process.arguments = Array(arguments.dropFirst())
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// Publish waits 100 ms before each rename, so the pull loop lands between most steps.
    /// Every pull finds either the whole delta or none; none fails on a missing file.
    func testPullsDuringPublishSeeAWholeDeltaOrNone() throws {
        let f = try PublishFixture()
        let dest = f.work + "/served"
        try f.resetDestination(dest)
        let http = try LoopbackHTTPServer(directory: dest)
        let template = try f.clientTemplate(url: http.url)
        XCTAssertEqual(try f.pull(template), .noDeltaYet)

        let publish = try start(f.publishArguments(dest), environment: ["DELTAGEN_TEST_PUBLISH_DELAY_MS": "150"])
        var outcomes: [PublishFixture.PullOutcome] = []
        while publish.isRunning { outcomes.append(try f.pull(template)) }
        publish.waitUntilExit()
        XCTAssertEqual(publish.terminationStatus, 0)
        let failures = outcomes.filter { if case .failed = $0 { return true } else { return false } }
        XCTAssertEqual(failures, [], "pulls failed during publish")
        XCTAssertGreaterThanOrEqual(outcomes.count, 3, "too few pulls overlapped the publish")
        XCTAssertEqual(try f.pull(template), .pulled)
        XCTAssertTrue(http.servedPaths().contains { $0.hasSuffix("/superblock") })
        print("pulls during publish: \(outcomes.filter { $0 == .pulled }.count) pulled, "
              + "\(outcomes.filter { $0 == .noDeltaYet }.count) no delta yet, \(failures.count) failed")
    }

    /// DEST already serves another v1→v2 delta: publish withdraws it from the index before
    /// removing its superblock, so pulls during the replacement still see a whole delta
    /// (old or new) or none, never an index naming a missing or different superblock.
    func testReplacingADeltaKeepsPullsWhole() throws {
        let f = try PublishFixture()
        let dest = f.work + "/served"
        try f.destinationWithOtherDelta(dest)
        let http = try LoopbackHTTPServer(directory: dest)
        let template = try f.clientTemplate(url: http.url)
        XCTAssertEqual(try f.pull(template), .pulled)
        let superblock = "\(DeltaName("\(f.small.v1)-\(f.small.v2)")!.relativePath)/superblock"
        XCTAssertNotEqual(try Fleet.sha256("\(dest)/\(superblock)"), try Fleet.sha256("\(f.source)/\(superblock)"))

        let publish = try start(f.publishArguments(dest), environment: ["DELTAGEN_TEST_PUBLISH_DELAY_MS": "150"])
        var outcomes: [PublishFixture.PullOutcome] = []
        while publish.isRunning { outcomes.append(try f.pull(template)) }
        publish.waitUntilExit()
        XCTAssertEqual(publish.terminationStatus, 0)
        XCTAssertEqual(outcomes.filter { $0 != .pulled && $0 != .noDeltaYet }, [], "pulls failed during the replacement")
        XCTAssertGreaterThanOrEqual(outcomes.count, 3)
        XCTAssertEqual(try Fleet.sha256("\(dest)/\(superblock)"), try Fleet.sha256("\(f.source)/\(superblock)"))
        XCTAssertEqual(try f.pull(template), .pulled)
        print("pulls during replacement: \(outcomes.filter { $0 == .pulled }.count) pulled, "
              + "\(outcomes.filter { $0 == .noDeltaYet }.count) no delta yet")
    }

    /// kill -9 at random moments: after each, DEST passes `ostree fsck`, a pull either works
    /// or finds no delta, and a rerun completes it with nothing left behind.
    func testKillLoopLeavesAValidDestinationAndARerunCompletes() throws {
        let f = try PublishFixture()
        let dest = f.work + "/served"
        try f.resetDestination(dest)
        let http = try LoopbackHTTPServer(directory: dest)
        let template = try f.clientTemplate(url: http.url)
        let delay = ["DELTAGEN_TEST_PUBLISH_DELAY_MS": "10"]
        let started = Date()
        let whole = try start(f.publishArguments(dest), environment: delay)
        whole.waitUntilExit()
        XCTAssertEqual(whole.terminationStatus, 0)
        let duration = Date().timeIntervalSince(started)
        let complete = try PublishFixture.contents(dest)
        for (path, sha) in try PublishFixture.contents(f.source) where path != ".lock" {
            XCTAssertEqual(complete[path], sha, "DEST's \(path) after a whole publish")
        }

        var rng = SeededGenerator(seed: 20_261_203)
        var kills = 0
        for run in 0..<16 {
            try f.resetDestination(dest)
            let wait = Double.random(in: 0...(duration * 1.1), using: &rng)
            let publish = try start(f.publishArguments(dest), environment: delay)
            usleep(useconds_t(wait * 1_000_000))
            kill(publish.processIdentifier, SIGKILL)
            publish.waitUntilExit()
            if publish.terminationReason == .uncaughtSignal { kills += 1 } else { XCTAssertEqual(publish.terminationStatus, 0) }

            let fsck = try Harness.run(["ostree", "--repo=\(dest)", "fsck"])
            XCTAssertEqual(fsck.status, 0, "run \(run), killed at \(wait) s: fsck: \(fsck.stderr)")
            let outcome = try f.pull(template)
            XCTAssertTrue(outcome == .pulled || outcome == .noDeltaYet, "run \(run), killed at \(wait) s: \(outcome)")

            try Harness.check(f.publishArguments(dest))
            XCTAssertEqual(PublishFixture.leftovers(dest), [], "run \(run): temporary files remain")
            let after = try PublishFixture.contents(dest).filter { $0.key != ".lock" }
            XCTAssertEqual(after, complete.filter { $0.key != ".lock" }, "run \(run): the rerun did not complete DEST")
            XCTAssertEqual(try f.pull(template), .pulled, "run \(run)")
        }
        print("publish kill loop: \(kills) of 16 runs killed, a whole run took \(duration) s")
        XCTAssertGreaterThanOrEqual(kills, 8, "too few kills landed before the run finished")
    }

    /// --dry-run lists the files and changes nothing; after a publish, a rerun copies and
    /// rewrites nothing (same inodes and times), and ci-job's and merge-deltas's --publish
    /// would give the same files.
    func testDryRunChangesNothingAndRerunCopiesNothing() throws {
        let f = try PublishFixture()
        let dest = f.work + "/served"
        try f.resetDestination(dest)
        let before = try PublishFixture.snapshot(dest)
        let dry = try Harness.check(f.publishArguments(dest, ["--dry-run"]))
        XCTAssertEqual(try PublishFixture.snapshot(dest), before, "--dry-run changed DEST")
        let v2 = DeltaName("\(f.small.v1)-\(f.small.v2)")!.relativePath
        let files = try FileManager.default.contentsOfDirectory(atPath: "\(f.source)/\(v2)").map { "\(v2)/\($0)" }
        XCTAssertGreaterThanOrEqual(files.count, 2)
        for path in files + ["refs/heads/small", "summary",
                     "delta-stats/\(f.small.v2).json", DeltaName(f.small.v2)!.indexRelativePath] {
            XCTAssertTrue(dry.contains("would copy \(path) ("), "the dry run does not list \(path):\n\(dry)")
        }
        XCTAssertFalse(dry.contains("would copy config"), "config was already identical")

        let first = try Harness.check(f.publishArguments(dest))
        let lines = dry.split(separator: "\n").filter { $0.hasPrefix("would copy ") }
        XCTAssertTrue(first.contains(": \(lines.count) files copied"), first)
        let published = try PublishFixture.snapshot(dest)
        let again = try Harness.check(f.publishArguments(dest))
        XCTAssertTrue(again.hasSuffix(": 0 files copied\n"), again)
        XCTAssertEqual(try PublishFixture.snapshot(dest), published, "a rerun rewrote files")
        XCTAssertTrue(try Harness.check(f.publishArguments(dest, ["--dry-run"])).contains("Dry run: 0 files"))
        for file in ["summary", "config", "refs/heads/small", DeltaName(f.small.v2)!.indexRelativePath] {
            XCTAssertEqual(try Fleet.sha256("\(dest)/\(file)"), try Fleet.sha256("\(f.source)/\(file)"), file)
        }

        // merge-deltas --publish: the same library call at the end of the merge.
        let viaMerge = f.work + "/via-merge"
        try f.resetDestination(viaMerge)
        let merged = try Harness.check([Harness.deltagen, "merge-deltas", "--repo", f.source, "--archive", f.archive,
                                        "--publish", viaMerge, f.source])
        XCTAssertTrue(merged.contains(": \(lines.count) files copied"), merged)
        // The merge rewrote the summary (a new timestamp); DEST now holds the source's files.
        let served = try PublishFixture.contents(viaMerge)
        for (path, sha) in try PublishFixture.contents(f.source) where path != ".lock" {
            XCTAssertEqual(served[path], sha, "\(path) after merge-deltas --publish")
        }
    }

    /// Bad input: one error line, nothing written.
    func testPublishRefusesItselfAndAMissingRepository() throws {
        let f = try PublishFixture()
        let itself = try Harness.run([Harness.deltagen, "publish", "--repo", f.source, f.source])
        assertOneLineError(itself, contains: "is the repository itself", status: 2)
        let missing = try Harness.run([Harness.deltagen, "publish", "--repo", f.work + "/nope", f.work + "/d"])
        assertOneLineError(missing, contains: "does not exist", status: 2)
        XCTAssertFalse(FileManager.default.fileExists(atPath: f.work + "/d"))
        try Harness.ostree(f.work + "/bare", "init", "--mode=bare-user")
        let bare = try Harness.run([Harness.deltagen, "publish", "--repo", f.work + "/bare", f.work + "/d"])
        assertOneLineError(bare, contains: "is not an archive-mode repository", status: 2)
        XCTAssertFalse(FileManager.default.fileExists(atPath: f.work + "/d"))
    }
}
