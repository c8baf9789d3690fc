import Foundation
import XCTest

/// The pipeline never hangs: 200 generations with --jobs 1 to 8 and random delays injected
/// into the scheduler (a debug-build hook), each under a watchdog. The CoreSlots lost wakeup
/// this guards against showed as a run that waited forever at 0% CPU.
final class SchedulerStressTests: XCTestCase {
    func testTwoHundredJitteredRunsAllFinish() throws {
        let small = try SmallRepo.shared()
        let repo = try small.copy()
        let out = try Harness.makeTemporaryDirectory()
        var rng = SeededGenerator(seed: 0x57e55)
        var failures: [String] = []
        let runs = 200
        let started = Date()
        for run in 0..<runs {
            let jobs = run % 8 + 1
            let pair = run % 3 == 0 ? ["--empty", small.v2] : [small.v1, small.v2]
            let jitter = [0, 50, 200, 1_000].randomElement(using: &rng)!
            try FileManager.default.createDirectory(atPath: "\(out)/\(run)", withIntermediateDirectories: true)
            // `timeout` is the outer watchdog; --stall-timeout the generator's own.
            let result = try Harness.run(
                ["timeout", "-s", "KILL", "120", Harness.deltagen, "generate-delta", "--repo", repo, "-q",
                 "--jobs", "\(jobs)", "--max-chunk-size", "1", "--min-fallback-size", "0",
                 "--stall-timeout", "60", "--filename", "\(out)/\(run)/superblock"] + pair,
                environment: ["DELTAGEN_TEST_SCHEDULER_JITTER_US": "\(jitter)"])
            if result.status != 0 {
                failures.append("run \(run) (--jobs \(jobs), jitter \(jitter) µs) exited \(result.status): \(result.stderr)")
            }
            try? FileManager.default.removeItem(atPath: "\(out)/\(run)")
        }
        XCTAssertEqual(failures.count, 0, "\(failures.count) of \(runs) runs failed or hung: \(failures.prefix(3))")
        print("scheduler stress: \(runs) runs in \(Int(Date().timeIntervalSince(started))) s")
    }

    /// A stage that stops making progress ends the run with one line naming it, instead of
    /// an endless wait, and publishes nothing.
    func testAStuckStageIsReportedAndEndsTheRun() throws {
        let small = try SmallRepo.shared()
        let repo = try small.copy()
        for stage in ["encoding", "verifying"] {
            let started = Date()
            let result = try Harness.run(
                ["timeout", "-s", "KILL", "60", Harness.deltagen, "generate-delta", "--repo", repo, "-q",
                 "--stall-timeout", "2", small.v1, small.v2],
                environment: ["DELTAGEN_TEST_FREEZE_STAGE": stage])
            XCTAssertEqual(result.status, 1, result.stderr)
            XCTAssertLessThan(Date().timeIntervalSince(started), 30, "the stall was not detected")
            let lines = result.errorOutput.split(separator: "\n")
            XCTAssertEqual(lines.count, 1, result.stderr)
            XCTAssertTrue(lines.first?.hasPrefix("error: no progress for ") ?? false, result.stderr)
            XCTAssertTrue(result.stderr.contains("while \(stage)"), result.stderr)
            XCTAssertFalse(FileManager.default.fileExists(atPath: repo + "/deltas"), "a stuck run published something")
        }
        // The next run cleans up what the stopped ones left in tmp/ and succeeds.
        try Harness.check([Harness.deltagen, "generate-delta", "--repo", repo, "-q", small.v1, small.v2])
    }
}
