import DeltaFormat
import Foundation
import XCTest
import DeltaCompiler

/// Crash safety of generate-delta and merge-deltas: kill -9 at random moments, two runs of one
/// pair at once, a full disk and a read-only repository. After each, `deltas/` holds only
/// whole deltas that read back, and the next run succeeds and leaves no staging behind.
final class CrashSafetyTests: XCTestCase {
    private func generate(_ repo: String, _ args: [String]) -> [String] {
        [Harness.deltagen, "generate-delta", "--repo", repo] + args
    }

    private func deltaDirectory(_ repo: String, from: String?, to: String) -> String {
        let name = DeltaName(from: from.flatMap { Checksum(hex: $0) }, to: Checksum(hex: to)!)
        return "\(repo)/\(name.relativePath)"
    }

    /// Starts generate-delta, sends SIGKILL after `delay` seconds, and says whether the kill
    /// landed (false: the run had already finished, and it must have succeeded).
    private func runAndKill(_ arguments: [String], after delay: Double) throws -> Bool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: arguments[0])
        process.arguments = Array(arguments.dropFirst())
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        usleep(useconds_t(delay * 1_000_000))
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        if process.terminationReason == .uncaughtSignal { return true }
        XCTAssertEqual(process.terminationStatus, 0, "an unkilled run failed: \(arguments)")
        return false
    }

    func testKillLoopLeavesOnlyCompleteDeltas() throws {
        let small = try SmallRepo.shared()
        let repo = try small.copy()
        // Three pairs; the last variant rebuilds the second pair with another part count, so
        // a kill during the exchange of two different layouts is covered too.
        let variants: [(args: [String], from: String?, to: String)] = [
            (["--max-chunk-size", "1", "--min-fallback-size", "0", "--empty", small.v1], nil, small.v1),
            (["--max-chunk-size", "1", "--min-fallback-size", "0", small.v1, small.v2], small.v1, small.v2),
            (["--inline", "--empty", small.v2], nil, small.v2),
            (["--jobs", "1", small.v1, small.v2], small.v1, small.v2),
        ]
        // One whole run of each, to know how long a run lasts; kills are spread over all of it.
        var durations: [Double] = []
        for v in variants {
            let start = Date()
            try Harness.check(generate(repo, v.args))
            durations.append(Date().timeIntervalSince(start))
        }

        var rng = SeededGenerator(seed: 20_240_601)
        var kills = 0, runs = 0, sawLeftover = false
        while kills < 50 && runs < 200 {
            let v = variants[runs % variants.count]
            // A third of the time the delta is absent, so the plain rename is killed too.
            if Int.random(in: 0..<3, using: &rng) == 0 {
                try? FileManager.default.removeItem(atPath: deltaDirectory(repo, from: v.from, to: v.to))
            }
            let delay = Double.random(in: 0...(durations[runs % variants.count] * 1.1), using: &rng)
            if try runAndKill(generate(repo, v.args), after: delay) { kills += 1 }
            runs += 1
            let audit = DeltaAudit.check(repo)
            XCTAssertEqual(audit.problems, [], "after run \(runs), killed at \(delay) s: \(v.args)")
            if !audit.problems.isEmpty { return }
            // Each run removes what earlier killed runs left, so leftovers never pile up.
            let leftovers = DeltaAudit.stagingLeftovers(repo)
            XCTAssertLessThanOrEqual(leftovers.count, 1, "staging piles up: \(leftovers)")
            sawLeftover = sawLeftover || !leftovers.isEmpty
        }
        print("kill loop: \(kills) kills in \(runs) runs, full runs took \(durations) s")
        XCTAssertGreaterThanOrEqual(kills, 50, "only \(kills) of \(runs) runs were killed before finishing")
        XCTAssertTrue(sawLeftover, "no kill ever left staging behind, so its cleanup went untested")

        for v in variants { try Harness.check(generate(repo, v.args)) }
        XCTAssertEqual(DeltaAudit.stagingLeftovers(repo), [])
        let audit = DeltaAudit.check(repo)
        XCTAssertEqual(audit.problems, [])
        XCTAssertEqual(audit.deltas, 3)
        try Harness.check(generate(repo, variants[1].args))
        try Stock.applyOffline(source: repo, deltaPath: deltaDirectory(repo, from: small.v1, to: small.v2),
                               from: small.v1, to: small.v2)
    }

    /// merge-deltas publishes through the same staging, lock and rename as generate-delta, so
    /// the same kill loop holds: two fan-out uploads with different bytes for one pair (and a
    /// from-scratch delta) are merged in turn, each run killed at a random moment. After every
    /// kill the repository's deltas all read back, every delta it held before is still there,
    /// the stats file is whole JSON, and a rerun completes.
    func testMergeDeltasKillLoopKeepsEveryDelta() throws {
        let small = try SmallRepo.shared()
        var uploads: [String] = []
        for args in [["--max-chunk-size", "1", "--min-fallback-size", "0"], ["--jobs", "1", "--inline"]] {
            let source = try small.copy()
            try Harness.check(generate(source, args + [small.v1, small.v2]))
            try Harness.check(generate(source, args + ["--empty", small.v1]))
            uploads.append(source)
        }
        let work = try Harness.makeTemporaryDirectory()
        let target = work + "/merged"
        func merge(_ upload: String) -> [String] {
            [Harness.deltagen, "merge-deltas", "--repo", target, "--archive", work + "/archive", upload]
        }
        var durations: [Double] = []
        for upload in uploads {
            let start = Date()
            try Harness.check(merge(upload))
            durations.append(Date().timeIntervalSince(start))
        }
        XCTAssertEqual(DeltaAudit.check(target).deltas, 2)
        let stats = "\(work)/archive/\(small.v2).json"

        var rng = SeededGenerator(seed: 20_251_203)
        var kills = 0, runs = 0
        while kills < 30 && runs < 120 {
            let upload = runs % uploads.count
            let held = try FileManager.default.subpathsOfDirectory(atPath: target + "/deltas").filter { $0.hasSuffix("/superblock") }
            let delay = Double.random(in: 0...(durations[upload] * 1.1), using: &rng)
            if try runAndKill(merge(uploads[upload]), after: delay) { kills += 1 }
            runs += 1
            let audit = DeltaAudit.check(target)
            XCTAssertEqual(audit.problems, [], "after run \(runs), killed at \(delay) s")
            for superblock in held {
                XCTAssertTrue(FileManager.default.fileExists(atPath: "\(target)/deltas/\(superblock)"),
                              "run \(runs) lost \(superblock)")
            }
            XCTAssertNoThrow(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: stats))),
                             "the stats file is not whole after run \(runs)")
            if !audit.problems.isEmpty { return }
            XCTAssertLessThanOrEqual(DeltaAudit.stagingLeftovers(target).count, 1, "staging piles up")
        }
        print("merge kill loop: \(kills) kills in \(runs) runs, full runs took \(durations) s")
        XCTAssertGreaterThanOrEqual(kills, 30, "only \(kills) of \(runs) runs were killed before finishing")

        for upload in uploads { try Harness.check(merge(upload)) }
        XCTAssertEqual(DeltaAudit.check(target).problems, [])
        XCTAssertEqual(DeltaAudit.check(target).deltas, 2)
        XCTAssertEqual(DeltaAudit.stagingLeftovers(target), [])
        // The last merge's bytes are the ones in place.
        let name = "\(small.v1)-\(small.v2)"
        let last = try Harness.check([Harness.deltagen, "show", "--json", "--repo", uploads[1], name])
        XCTAssertEqual(try Harness.check([Harness.deltagen, "show", "--json", "--repo", target, name]), last)
    }

    func testConcurrentRunsOfOnePairEndWithOneDelta() throws {
        let small = try SmallRepo.shared()
        let repo = try small.copy()
        let pair = ["--max-chunk-size", "1", "--min-fallback-size", "0", small.v1, small.v2]
        let target = deltaDirectory(repo, from: small.v1, to: small.v2)
        for round in 0..<4 {
            // Mostly from an empty deltas/, where both runs may find the target absent and
            // race on the rename; once over an existing delta, where both exchange.
            if round < 3 { try? FileManager.default.removeItem(atPath: target) }
            // A third run of another pair shares tmp/: no run may clean up another's staging.
            let commands = [generate(repo, pair), generate(repo, pair), generate(repo, ["--empty", small.v2])]
            let finished = Monitor([CommandResult?](repeating: nil, count: commands.count))
            DispatchQueue.concurrentPerform(iterations: commands.count) { i in
                let r = try? Harness.run(commands[i])
                finished.withLock { $0[i] = r }
            }
            for (i, r) in finished.withLock({ $0 }).enumerated() {
                XCTAssertEqual(r?.status, 0, "round \(round), run \(i): \(r?.stderr ?? "did not start")")
            }
            let audit = DeltaAudit.check(repo)
            XCTAssertEqual(audit.problems, [], "round \(round)")
            XCTAssertEqual(audit.deltas, 2, "round \(round)")
            XCTAssertEqual(DeltaAudit.stagingLeftovers(repo), [], "round \(round)")
        }
    }

    func testStaleStagingIsRemovedAndLiveStagingKept() throws {
        let small = try SmallRepo.shared()
        let repo = try small.copy()
        let tmp = repo + "/tmp"
        let fm = FileManager.default
        let finished = Process()
        finished.executableURL = URL(fileURLWithPath: "/bin/true")
        try finished.run()
        finished.waitUntilExit()
        let dead = finished.processIdentifier
        func make(_ name: String, ageDays: Double = 0) throws -> String {
            let path = "\(tmp)/\(name)"
            try fm.createDirectory(atPath: path, withIntermediateDirectories: true)
            try Data("partial".utf8).write(to: URL(fileURLWithPath: path + "/0"))
            if ageDays > 0 {
                try fm.setAttributes([.modificationDate: Date(timeIntervalSinceNow: -ageDays * 86_400)], ofItemAtPath: path)
            }
            return path
        }
        let deadRun = try make("deltagen-staging-\(dead)-aaaaaa")
        let liveRun = try make("deltagen-staging-\(getpid())-bbbbbb")
        // A dead pid here, but locked: a run in another pid namespace sharing the repo.
        let lockedRun = try make("deltagen-staging-\(dead)-cccccc")
        let legacyOld = try make("deltagen-staging-dddddd", ageDays: 2)
        let legacyNew = try make("deltagen-staging-eeeeee")
        let outside = try Harness.makeTemporaryDirectory()
        try Data("keep".utf8).write(to: URL(fileURLWithPath: outside + "/keep"))
        try fm.createSymbolicLink(atPath: "\(tmp)/deltagen-staging-\(dead)-ffffff", withDestinationPath: outside)

        let fd = open(lockedRun, O_RDONLY | O_DIRECTORY)
        XCTAssertEqual(flock(fd, LOCK_EX), 0)
        defer { close(fd) }
        try Harness.check(generate(repo, [small.v1, small.v2]))

        XCTAssertFalse(fm.fileExists(atPath: deadRun), "a dead run's staging stays")
        XCTAssertFalse(fm.fileExists(atPath: legacyOld), "a day-old staging without pid stays")
        for kept in [liveRun, lockedRun, legacyNew] {
            XCTAssertTrue(fm.fileExists(atPath: kept + "/0"), "\(kept) was removed while in use")
        }
        XCTAssertTrue(fm.fileExists(atPath: outside + "/keep"), "cleanup followed a symlink out of tmp/")
        XCTAssertEqual(DeltaAudit.check(repo).problems, [])
    }

    /// The repo on a tmpfs with 16 kB free: writing the parts fails with ENOSPC.
    func testDiskFullOnSmallTmpfs() throws {
        guard getuid() == 0 else { throw XCTSkip("mounting a tmpfs needs root") }
        let small = try SmallRepo.shared()
        let mnt = try Harness.makeTemporaryDirectory()
        let mount = try Harness.run(["mount", "-t", "tmpfs", "-o", "size=32m", "tmpfs", mnt])
        guard mount.status == 0 else { throw XCTSkip("mount -t tmpfs refused: \(mount.stderr)") }
        defer { _ = try? Harness.run(["umount", "-l", mnt]) }
        let repo = mnt + "/repo"
        try Harness.check(["cp", "-a", small.path, repo])
        try Harness.check(generate(repo, [small.v1, small.v2]))
        var fs = statvfs()
        XCTAssertEqual(statvfs(mnt, &fs), 0)
        let used = (UInt64(fs.f_blocks) - UInt64(fs.f_bfree)) * UInt64(fs.f_frsize)
        try Harness.check(["mount", "-o", "remount,size=\(used + 16 * 1024)", mnt])

        let before = try DeltaAudit.snapshot(repo)
        let r = try Harness.run(generate(repo, ["--max-chunk-size", "1", "--empty", small.v1]))
        assertOneLineError(r, contains: "No space left on device", status: 4)
        XCTAssertEqual(try DeltaAudit.snapshot(repo), before, "deltas/ changed")
        XCTAssertEqual(DeltaAudit.stagingLeftovers(repo), [])
        XCTAssertTrue(try Harness.ostree(repo, "fsck").contains("no errors found"))

        try Harness.check(["mount", "-o", "remount,size=32m", mnt])
        try Harness.check(generate(repo, ["--max-chunk-size", "1", "--empty", small.v1]))
        XCTAssertEqual(DeltaAudit.check(repo).problems, [])
        XCTAssertEqual(DeltaAudit.stagingLeftovers(repo), [])
    }

    /// The same through a file-size limit, which needs no mount: writes fail with EFBIG.
    func testFileSizeLimit() throws {
        let small = try SmallRepo.shared()
        let repo = try small.copy()
        try Harness.check(generate(repo, ["--inline", "--empty", small.v2]))
        let before = try DeltaAudit.snapshot(repo)
        let r = try Harness.run(["prlimit", "--fsize=10000"] + generate(repo, ["--max-chunk-size", "1", "--empty", small.v1]))
        assertOneLineError(r, contains: "File too large", status: 4)
        XCTAssertEqual(try DeltaAudit.snapshot(repo), before, "deltas/ changed")
        XCTAssertEqual(DeltaAudit.stagingLeftovers(repo), [])
        try Harness.check(generate(repo, ["--max-chunk-size", "1", "--empty", small.v1]))
    }

    func testReadOnlyBindMount() throws {
        guard getuid() == 0 else { throw XCTSkip("bind mounts need root") }
        let small = try SmallRepo.shared()
        let repo = try small.copy()
        let mnt = try Harness.makeTemporaryDirectory()
        guard try Harness.run(["mount", "--bind", repo, mnt]).status == 0 else { throw XCTSkip("bind mount refused") }
        defer { _ = try? Harness.run(["umount", "-l", mnt]) }
        try Harness.check(["mount", "-o", "remount,bind,ro", mnt])
        let r = try Harness.run(generate(mnt, [small.v1, small.v2]))
        assertOneLineError(r, contains: "Read-only file system", status: 4)
        XCTAssertEqual(DeltaAudit.check(repo).deltas, 0)
    }

    /// Permission bits: root ignores them, so the run is as nobody.
    func testRepositoryWithoutWritePermission() throws {
        let small = try SmallRepo.shared()
        let repo = try small.copy()
        var prefix: [String] = []
        if getuid() == 0 {
            try Harness.check(["chmod", "0755", URL(fileURLWithPath: repo).deletingLastPathComponent().path])
            prefix = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
        }
        try Harness.check(["chmod", "-R", "a+rX,a-w", repo])
        defer { _ = try? Harness.run(["chmod", "-R", "u+w", repo]) }
        let r = try Harness.run(prefix + generate(repo, [small.v1, small.v2]))
        assertOneLineError(r, contains: "Permission denied", status: 2)
        XCTAssertEqual(DeltaAudit.check(repo).deltas, 0)
        XCTAssertEqual(DeltaAudit.stagingLeftovers(repo), [])
    }
}
