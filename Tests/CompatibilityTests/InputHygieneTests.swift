import DeltaCompiler
import DeltaFormat
import Foundation
import XCTest

/// Names, refs and paths from the command line or from uploads never lead outside the
/// repository, and each bad one gets a one-line error.
final class InputHygieneTests: XCTestCase {
    private let hex = String(repeating: "ab", count: 32)

    func testShowRefusesNamesThatAreNotDeltaNames() throws {
        let small = try SmallRepo.shared()
        let names = ["..", ".", "a-b-c", "", "\(hex)-", "-\(hex)", "\(hex)-\(hex)-\(hex)", hex + "a",
                     String(hex.dropFirst()), String(repeating: "zz", count: 32), String(repeating: "é", count: 64),
                     "\(hex)\u{0A}", String(repeating: "a", count: 10_000), "%2e%2e%2fetc"]
        for name in names {
            let r = try Harness.run([Harness.deltagen, "show", "--repo", small.path, "--", name])
            assertOneLineError(r, contains: "invalid delta name", "show \(name.prefix(80))", status: 2)
        }
        // Well-formed but absent: the path is built from the checksum, never from the text.
        let absent = try Harness.run([Harness.deltagen, "show", "--repo", small.path, hex.uppercased()])
        assertOneLineError(absent, contains: "/deltas/q6/urq6urq6", status: 2)
    }

    func testRefsWithPathSyntaxAreRefused() throws {
        let small = try SmallRepo.shared()
        let repo = try small.copy()
        let before = try DeltaAudit.snapshot(repo)
        for ref in ["../../etc/passwd", "small/../small", "..", "/etc/passwd", "small/./x", "refs/heads/../config",
                    "small~1", "small\u{7f}", String(repeating: "x/", count: 3000)] {
            let asFrom = try Harness.run([Harness.deltagen, "generate-delta", "--repo", repo, ref, small.v2])
            assertOneLineError(asFrom, contains: "cannot resolve FROM", "FROM \(ref.prefix(60))", status: 2)
            let asTo = try Harness.run([Harness.deltagen, "generate-delta", "--repo", repo, "--empty", ref])
            assertOneLineError(asTo, contains: "cannot resolve TO", "TO \(ref.prefix(60))", status: 2)
        }
        XCTAssertEqual(try DeltaAudit.snapshot(repo), before)
        XCTAssertEqual(DeltaAudit.stagingLeftovers(repo), [])
    }

    func testFilenameMustNameAFileInAnExistingDirectory() throws {
        let small = try SmallRepo.shared()
        let out = try Harness.makeTemporaryDirectory()
        func run(_ filename: String) throws -> CommandResult {
            try Harness.run([Harness.deltagen, "generate-delta", "--repo", small.path, "--max-chunk-size", "1",
                             "--filename", filename, small.v1, small.v2])
        }
        assertOneLineError(try run(out + "/missing/dir/x.delta"), contains: "opening directory \(out)/missing/dir: No such file", status: 2)
        try FileManager.default.createDirectory(atPath: out + "/existing", withIntermediateDirectories: false)
        assertOneLineError(try run(out + "/existing"), contains: "\(out)/existing: Is a directory", status: 2)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out), ["existing"], "parts written beside a directory")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out + "/existing"), [])
        let slash = try run(out + "/existing/")
        XCTAssertNotEqual(slash.status, 0)
        XCTAssertTrue(slash.stderr.contains("--filename must name a file"), slash.stderr)

        let good = try run(out + "/existing/v1-v2.delta")
        XCTAssertEqual(good.status, 0, good.stderr)
        let written = try FileManager.default.contentsOfDirectory(atPath: out + "/existing").sorted()
        XCTAssertEqual(written.filter { !$0.allSatisfy(\.isNumber) }, ["v1-v2.delta"], "staging left beside the file")
        XCTAssertNoThrow(try DeltaLocation(superblockPath: out + "/existing/v1-v2.delta").inspect())
    }

    /// merge-deltas reads fan-out uploads, which are untrusted: no symlink, special file,
    /// stray file or second spelling of a name is followed or copied.
    func testMergeDeltasRefusesHostileUploads() throws {
        let small = try SmallRepo.shared()
        let source = try small.copy()
        try Harness.check([Harness.deltagen, "generate-delta", "--repo", source, "--max-chunk-size", "1", small.v1, small.v2])
        let name = DeltaName(from: Checksum(hex: small.v1)!, to: Checksum(hex: small.v2)!)
        let real = "\(source)/\(name.relativePath)"
        let rel = String(name.relativePath.dropFirst("deltas/".count))
        let prefix = String(rel.prefix(2)), rest = String(rel.dropFirst(3))

        /// An upload holding a copy of the real delta, then `tamper(upload, deltaDir)`.
        func attempt(_ label: String, expected: String, tamper: (String, String) throws -> Void) throws {
            let upload = try Harness.makeTemporaryDirectory()
            let dir = "\(upload)/deltas/\(prefix)/\(rest)"
            try FileManager.default.createDirectory(atPath: "\(upload)/deltas/\(prefix)", withIntermediateDirectories: true)
            try Harness.check(["cp", "-a", real, dir])
            try tamper(upload, dir)
            let target = try Harness.makeTemporaryDirectory() + "/merged"
            let r = try Harness.run([Harness.deltagen, "merge-deltas", upload, "--repo", target, "--archive", target + "-archive"])
            assertOneLineError(r, contains: expected, label, status: 2)
            XCTAssertFalse(FileManager.default.fileExists(atPath: target), "\(label): the repository was created")
        }
        let fm = FileManager.default
        try attempt("delta dir symlink", expected: "is a symlink or not a directory") { _, dir in
            try fm.removeItem(atPath: dir)
            try fm.createSymbolicLink(atPath: dir, withDestinationPath: real)
        }
        try attempt("prefix dir symlink", expected: "is a symlink or not a directory") { upload, _ in
            let moved = try Harness.makeTemporaryDirectory() + "/p"
            try fm.moveItem(atPath: "\(upload)/deltas/\(prefix)", toPath: moved)
            try fm.createSymbolicLink(atPath: "\(upload)/deltas/\(prefix)", withDestinationPath: moved)
        }
        try attempt("superblock symlink", expected: "superblock is a symlink or special file") { _, dir in
            try fm.removeItem(atPath: dir + "/superblock")
            try fm.createSymbolicLink(atPath: dir + "/superblock", withDestinationPath: real + "/superblock")
        }
        try attempt("part symlink", expected: "/0 is a symlink or special file") { _, dir in
            try fm.removeItem(atPath: dir + "/0")
            try fm.createSymbolicLink(atPath: dir + "/0", withDestinationPath: "/etc/passwd")
        }
        try attempt("part fifo", expected: "/0 is a symlink or special file") { _, dir in
            try fm.removeItem(atPath: dir + "/0")
            XCTAssertEqual(mkfifo(dir + "/0", 0o644), 0)
        }
        try attempt("stray file", expected: "evil.sh is not a superblock or part file") { _, dir in
            try Data("#!/bin/sh\n".utf8).write(to: URL(fileURLWithPath: dir + "/evil.sh"))
        }
        try attempt("leading-zero part", expected: "/00 is not a superblock or part file") { _, dir in
            try fm.copyItem(atPath: dir + "/0", toPath: dir + "/00")
        }
        // The last character carries two bits beyond the 256; a lenient decoder ignores them,
        // so a second spelling can name the same delta.
        try attempt("non-canonical name", expected: "canonical") { upload, dir in
            let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+_")
            let last = alphabet.firstIndex(of: rest.last!)!
            let odd = String(rest.dropLast()) + String(alphabet[last ^ 1])
            try fm.moveItem(atPath: dir, toPath: "\(upload)/deltas/\(prefix)/\(odd)")
        }

        let clean = try Harness.makeTemporaryDirectory()
        try fm.createDirectory(atPath: "\(clean)/deltas/\(prefix)", withIntermediateDirectories: true)
        try Harness.check(["cp", "-a", real, "\(clean)/deltas/\(prefix)/\(rest)"])
        let target = try Harness.makeTemporaryDirectory() + "/merged"
        try Harness.check([Harness.deltagen, "merge-deltas", clean, "--repo", target, "--archive", target + "-archive"])
        XCTAssertEqual(DeltaAudit.check(target).problems, [])
        XCTAssertEqual(DeltaAudit.check(target).deltas, 1)
    }
}

/// The JSON inputs at the command line: each malformed file, a directory, a missing path
/// and an endless one give one `error:` line naming the path, for every command that reads one.
final class InputFileTests: XCTestCase {
    func testMalformedInputFilesGetOneLineErrors() throws {
        let dir = try Harness.makeTemporaryDirectory()
        let hex = String(repeating: "ab", count: 32)
        let targets = dir + "/targets.json"
        try Data("""
            {"signed": {"targets": {"hw-1": {"hashes": {"sha256": "\(hex)"},
              "custom": {"version": "1", "hardwareIds": ["hw"], "tags": ["t"]}}}}}
            """.utf8).write(to: URL(fileURLWithPath: targets))
        var files: [(String, String)] = []
        for (label, bytes) in [("empty", Data()), ("garbage", Data([0x00, 0xFF, 0x13, 0x37, 0x7B])),
                               ("deep", Data(String(repeating: "[", count: 100_000).utf8)),
                               ("wrong shape", Data("{\"signed\": [], \"tags\": 5}".utf8)), ("non-UTF-8", Data([0x5B, 0x22, 0xC3, 0x28, 0x22, 0x5D]))] {
            try bytes.write(to: URL(fileURLWithPath: "\(dir)/\(label)"))
            files.append((label, "\(dir)/\(label)"))
        }
        try FileManager.default.createDirectory(atPath: dir + "/a-directory", withIntermediateDirectories: false)
        files += [("directory", dir + "/a-directory"), ("missing", dir + "/missing.json"), ("endless", "/dev/zero")]
        let small = try SmallRepo.shared()
        let upload = try small.copy()
        try Harness.check([Harness.deltagen, "generate-delta", "--repo", upload, "--inline", small.v1, small.v2])

        for (label, path) in files {
            let commands: [(String, [String])] = [
                ("plan --targets", ["plan", "1", "--targets", path]),
                ("plan --status", ["plan", "1", "--targets", targets, "--status", path, "--by-tag", "t"]),
                ("ci-job --deltas", ["ci-job", "--deltas", path, "--workdir", dir + "/work"]),
            ]
            for (command, args) in commands {
                let r = try Harness.run([Harness.deltagen] + args)
                assertOneLineError(r, contains: path, "\(command) \(label)", status: 2)
            }
            // merge-deltas reads the earlier stats file for the delta's target, before copying.
            // A missing one is normal there (the first merge), so not among these.
            if label == "missing" { continue }
            let archive = try Harness.makeTemporaryDirectory()
            try FileManager.default.createSymbolicLink(atPath: "\(archive)/\(small.v2).json", withDestinationPath: path)
            let target = try Harness.makeTemporaryDirectory() + "/merged"
            let r = try Harness.run([Harness.deltagen, "merge-deltas", upload, "--repo", target, "--archive", archive])
            assertOneLineError(r, contains: "\(small.v2).json", "merge-deltas \(label)", status: 2)
            XCTAssertFalse(FileManager.default.fileExists(atPath: target), "merge-deltas \(label): repository created")
        }
    }
}
