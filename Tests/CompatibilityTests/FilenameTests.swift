import Foundation
import XCTest

/// `--filename PATH`: regenerating over an older delta leaves exactly the new one, a kill at
/// any moment leaves a whole delta, and nothing but regular files is ever replaced.
final class FilenameTests: XCTestCase {
    private func generate(_ repo: String, _ superblock: String, _ args: [String]) -> [String] {
        [Harness.deltagen, "generate-delta", "--repo", repo, "-q", "--min-fallback-size", "0",
         "--filename", superblock] + args
    }

    private func files(_ dir: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted()
    }

    func testFewerPartsLeaveNoStalePartInADirectoryOfItsOwn() throws {
        let small = try SmallRepo.shared()
        let out = try Harness.makeTemporaryDirectory() + "/delta"
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        try Harness.check(generate(small.path, out + "/superblock", ["--max-chunk-size", "1", "--empty", small.v2]))
        XCTAssertEqual(files(out), ["0", "1", "2", "superblock"])
        try Harness.check(generate(small.path, out + "/superblock", ["--empty", small.v2]))
        XCTAssertEqual(files(out), ["0", "superblock"])
        try Stock.applyOffline(source: small.path, deltaPath: out + "/superblock", from: nil, to: small.v2)
    }

    func testFewerPartsLeaveNoStalePartBesideOtherFiles() throws {
        let small = try SmallRepo.shared()
        let out = try Harness.makeTemporaryDirectory()
        try Data("keep me\n".utf8).write(to: URL(fileURLWithPath: out + "/README"))
        try Harness.check(generate(small.path, out + "/update.delta", ["--max-chunk-size", "1", "--empty", small.v2]))
        XCTAssertEqual(files(out), ["0", "1", "2", "README", "update.delta"])
        try Harness.check(generate(small.path, out + "/update.delta", ["--empty", small.v2]))
        XCTAssertEqual(files(out), ["0", "README", "update.delta"])
        XCTAssertEqual(try String(contentsOfFile: out + "/README", encoding: .utf8), "keep me\n")
        try Stock.applyOffline(source: small.path, deltaPath: out + "/update.delta", from: nil, to: small.v2)
    }

    /// Kills while a three-part and a one-part delta replace each other at one path: after
    /// each kill the directory holds one whole delta, which verifies, and nothing else.
    func testAKillAtAnyMomentLeavesOneWholeDelta() throws {
        let small = try SmallRepo.shared()
        let base = try Harness.makeTemporaryDirectory()
        let out = base + "/delta"
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let layouts = [["--max-chunk-size", "1", "--empty", small.v2], ["--empty", small.v2]]
        var durations: [Double] = []
        for layout in layouts {
            let start = Date()
            try Harness.check(generate(small.path, out + "/superblock", layout))
            durations.append(Date().timeIntervalSince(start))
        }
        var rng = SeededGenerator(seed: 0xF11E)
        var kills = 0
        var seen = Set<[String]>()
        for run in 0..<40 {
            let process = Process()
            let args = generate(small.path, out + "/superblock", layouts[run % 2])
            process.executableURL = URL(fileURLWithPath: args[0])
            process.arguments = Array(args.dropFirst())
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            usleep(useconds_t(Double.random(in: 0...(durations[run % 2] * 1.1), using: &rng) * 1_000_000))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            if process.terminationReason == .uncaughtSignal { kills += 1 }
            let present = files(out)
            XCTAssertTrue(present == ["0", "superblock"] || present == ["0", "1", "2", "superblock"],
                          "run \(run): \(present)")
            seen.insert(present)
            let verify = try Harness.run([Harness.deltagen, "verify", "--repo", small.path, out + "/superblock"])
            XCTAssertEqual(verify.status, 0, "run \(run): \(verify.stdout)\(verify.stderr)")
        }
        XCTAssertGreaterThan(kills, 10, "too few runs were killed before finishing")
        XCTAssertEqual(seen.count, 2, "the kills never caught both layouts: \(seen)")
        // The next run removes what the killed ones left beside the directory.
        try Harness.check(generate(small.path, out + "/superblock", layouts[1]))
        XCTAssertEqual(files(base), ["delta"])
    }

    func testOnlyRegularFilesAreReplaced() throws {
        let small = try SmallRepo.shared()
        let out = try Harness.makeTemporaryDirectory()
        XCTAssertEqual(mkfifo(out + "/fifo", 0o600), 0)
        let fifo = try Harness.run(generate(small.path, out + "/fifo", [small.v1, small.v2]))
        XCTAssertEqual(fifo.status, 2)
        XCTAssertTrue(fifo.errorOutput.contains("is not a regular file"), fifo.stderr)
        let null = try Harness.run(generate(small.path, "/dev/null", [small.v1, small.v2]))
        XCTAssertNotEqual(null.status, 0)
        var st = stat()
        XCTAssertEqual(lstat("/dev/null", &st), 0)
        XCTAssertEqual(st.st_mode & S_IFMT, S_IFCHR, "/dev/null is no longer a device")
        XCTAssertFalse(FileManager.default.fileExists(atPath: "/dev/0"))
        // A directory where a part would go is refused before any work.
        let beside = try Harness.makeTemporaryDirectory()
        try FileManager.default.createDirectory(atPath: beside + "/1", withIntermediateDirectories: false)
        let dir = try Harness.run(generate(small.path, beside + "/superblock", ["--max-chunk-size", "1", "--empty", small.v2]))
        XCTAssertEqual(dir.status, 2)
        XCTAssertTrue(dir.errorOutput.contains("not a regular file"), dir.stderr)
        XCTAssertEqual(files(beside), ["1"])
        _ = st
    }
}

/// `--memory-limit`: fewer jobs when needed, the same bytes, and a one-line refusal when
/// even one job would not fit.
final class MemoryLimitTests: XCTestCase {
    func testALowLimitRunsFewerJobsWithTheSameBytes() throws {
        let small = try SmallRepo.shared()
        let out = try Harness.makeTemporaryDirectory()
        for name in ["four", "limited"] {
            try FileManager.default.createDirectory(atPath: "\(out)/\(name)", withIntermediateDirectories: true)
        }
        let common = ["generate-delta", "--repo", small.path, "--jobs", "4", "--max-chunk-size", "1", "--min-fallback-size", "0"]
        try Harness.check([Harness.deltagen] + common + ["-q", "--filename", out + "/four/superblock", "--empty", small.v2])
        let limited = try Harness.run([Harness.deltagen] + common + ["--memory-limit", "400",
                                      "--filename", out + "/limited/superblock", "--empty", small.v2])
        XCTAssertEqual(limited.status, 0, limited.stderr)
        XCTAssertTrue(limited.stderr.contains("memory limit 400 MB: running 1 jobs instead of 4"), limited.stderr)
        for file in try FileManager.default.contentsOfDirectory(atPath: out + "/four") {
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: "\(out)/four/\(file)")),
                           try Data(contentsOf: URL(fileURLWithPath: "\(out)/limited/\(file)")), file)
        }
    }

    func testALimitNoJobFitsIsRefusedUpFront() throws {
        let small = try SmallRepo.shared()
        let repo = try small.copy()
        let r = try Harness.run([Harness.deltagen, "generate-delta", "--repo", repo, "-q", "--memory-limit", "100",
                                 small.v1, small.v2])
        XCTAssertEqual(r.status, 2, "a limit no job fits is a bad setting")
        let lines = r.errorOutput.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("more than the memory limit of 100 MB"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: repo + "/deltas"))
    }
}
