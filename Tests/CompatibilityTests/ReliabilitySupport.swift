import DeltaCompiler
import Foundation
import XCTest

/// A small archive repository whose deltas build in well under a second, for tests that run
/// generate-delta many times. v1 has five 450 kB files, so `--max-chunk-size 1` gives three
/// parts; v2 drops two, adds three and a small text file. The files are mostly zeros because
/// xz at preset 8 is the slow step on random bytes, and parts are cut by uncompressed size.
final class SmallRepo {
    let path: String
    let v1: String, v2: String
    /// Checksums of content objects only v2 has, by path.
    let newInV2: [String: String]

    nonisolated(unsafe) private static var cached: SmallRepo?  // guarded by `lock`
    private static let lock = NSLock()

    static func shared() throws -> SmallRepo {
        lock.lock()
        defer { lock.unlock() }
        if let cached { return cached }
        let repo = try SmallRepo()
        cached = repo
        return repo
    }

    private init() throws {
        let dir = try Harness.makeTemporaryDirectory()
        let repoPath = dir + "/repo"
        path = repoPath
        var rng = SeededGenerator(seed: 0x5eed)
        func sample(_ count: Int) -> Data {
            Data((0..<20_000).map { _ in UInt8.random(in: 0...255, using: &rng) }) + Data(count: count - 20_000)
        }
        let fm = FileManager.default
        for tree in ["t1", "t2/data"] { try fm.createDirectory(atPath: "\(dir)/\(tree)", withIntermediateDirectories: true) }
        try fm.createDirectory(atPath: "\(dir)/t1/data", withIntermediateDirectories: true)
        for i in 1...5 { try sample(450_000).write(to: URL(fileURLWithPath: "\(dir)/t1/data/f\(i).bin")) }
        for i in 3...5 { try fm.copyItem(atPath: "\(dir)/t1/data/f\(i).bin", toPath: "\(dir)/t2/data/f\(i).bin") }
        for name in ["g1.bin", "g2.bin", "g3.bin"] { try sample(300_000).write(to: URL(fileURLWithPath: "\(dir)/t2/data/\(name)")) }
        try Data("hello from v2\n".utf8).write(to: URL(fileURLWithPath: "\(dir)/t2/hello.txt"))
        try Harness.ostree(repoPath, "init", "--mode=archive")
        func commit(_ tree: String, _ subject: String) throws -> String {
            try Harness.ostree(repoPath, "commit", "-b", "small", "-s", subject, "--no-xattrs",
                               "--timestamp=2024-01-01T00:00:00Z", "--tree=dir=\(dir)/\(tree)")
                .trimmingCharacters(in: .whitespacesAndNewlines)
        }
        v1 = try commit("t1", "v1")
        v2 = try commit("t2", "v2")
        var newInV2: [String: String] = [:]
        for file in ["/hello.txt", "/data/g1.bin"] {
            newInV2[file] = String(try Harness.ostree(repoPath, "ls", "-C", v2, file).split(separator: " ")[4])
        }
        self.newInV2 = newInV2
    }

    func copy() throws -> String {
        let dir = try Harness.makeTemporaryDirectory()
        try Harness.check(["cp", "-a", path, dir + "/repo"])
        return dir + "/repo"
    }
}


/// What a reader of `deltas/` would find, checked the way a client would.
enum DeltaAudit {
    /// Problems with the repo's `deltas/`: a delta directory without a superblock, one that
    /// does not read back (part checksums, decompression, op dry-run), or holding stray files.
    /// Returns the problems and the number of complete deltas.
    static func check(_ repo: String) -> (problems: [String], deltas: Int) {
        let fm = FileManager.default
        let root = repo + "/deltas"
        var problems: [String] = []
        var count = 0
        for prefix in (try? fm.contentsOfDirectory(atPath: root)) ?? [] {
            guard prefix.count == 2 else { problems.append("stray \(prefix) in deltas/"); continue }
            for rest in (try? fm.contentsOfDirectory(atPath: "\(root)/\(prefix)")) ?? [] {
                let dir = "\(root)/\(prefix)/\(rest)"
                let files = Set((try? fm.contentsOfDirectory(atPath: dir)) ?? [])
                guard files.contains("superblock") else { problems.append("\(prefix)/\(rest) has no superblock: \(files.sorted())"); continue }
                do {
                    let inspection = try DeltaLocation(superblockPath: dir + "/superblock").inspect()
                    let parts = inspection.superblock.inlineParts.isEmpty ? inspection.superblock.parts.count : 0
                    let expected = Set(["superblock"] + (0..<parts).map(String.init))
                    if files != expected { problems.append("\(prefix)/\(rest) holds \(files.sorted())") }
                    count += 1
                } catch {
                    problems.append("\(prefix)/\(rest) does not read back: \(error)")
                }
            }
        }
        return (problems, count)
    }

    static func stagingLeftovers(_ repo: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: repo + "/tmp")) ?? []).filter { $0.hasPrefix("deltagen") }.sorted()
    }

    /// Every file under `deltas/` with its bytes, to prove nothing changed.
    static func snapshot(_ repo: String) throws -> [String: Data] {
        var out: [String: Data] = [:]
        let root = repo + "/deltas"
        guard let walker = FileManager.default.enumerator(atPath: root) else { return out }
        while let rel = walker.nextObject() as? String {
            var isDir: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: root + "/" + rel, isDirectory: &isDir)
            out[rel] = isDir.boolValue ? Data() : try Data(contentsOf: URL(fileURLWithPath: root + "/" + rel))
        }
        return out
    }
}

/// The contract for a refused input: the exit code of its kind (1 by default: the delta work
/// failed; see DeltaGen's exit-code table), nothing on stdout, one `error:` line that contains
/// `expected`. `context` says which case failed in a table-driven test.
func assertOneLineError(_ r: CommandResult, contains expected: String, _ context: String = "", status: Int32 = 1,
                        file: StaticString = #filePath, line: UInt = #line) {
    let label = context.isEmpty ? "" : "\(context): "
    XCTAssertEqual(r.status, status, "\(label)exit status; stderr: \(r.stderr)", file: file, line: line)
    XCTAssertEqual(r.stdout, "", "\(label)stdout", file: file, line: line)
    XCTAssertTrue(r.errorOutput.hasPrefix("error: ") && r.errorOutput.contains(expected),
                  "\(label)expected an error containing \"\(expected)\", got: \(r.stderr)", file: file, line: line)
    XCTAssertEqual(r.errorOutput.filter { $0 == "\n" }.count, 1, "\(label)one line only: \(r.stderr)", file: file, line: line)
}
