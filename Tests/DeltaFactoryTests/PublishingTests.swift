import DeltaCompiler
import DeltaFormat
import DeltaPlanning
import Foundation
import OSTreeRepo
import XCTest
@testable import DeltaFactory

/// The one publish path as a library: staged copies, the lock, atomic stats files.
final class PublishingTests: XCTestCase {
    private let a = Checksum(hex: String(repeating: "a", count: 64))!
    private let b = Checksum(hex: String(repeating: "b", count: 64))!
    private let c = Checksum(hex: String(repeating: "c", count: 64))!

    private func tempDir() throws -> String {
        let path = NSTemporaryDirectory() + "factory-publish-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    private func write(_ text: String, _ path: String) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    }

    private func tmpEntries(_ repo: Repository) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: repo.path + "/tmp")) ?? []).filter { $0.hasPrefix("deltagen") }
    }

    func testPublishCopyStagesReplacesAndSkipsIdentical() throws {
        let dir = try tempDir()
        let repo = try RepositoryAccess.openOrCreate(dir + "/repo")
        let name = DeltaName(from: a, to: b)
        let source = dir + "/src"
        try FileManager.default.createDirectory(atPath: source, withIntermediateDirectories: true)
        try write("part zero", source + "/0")
        try write("superblock one", source + "/superblock")
        let lock = try Publishing.lock(repo)
        XCTAssertTrue(try Publishing.publishCopy(of: source, name: name, into: repo, holding: lock))
        let target = repo.path + "/" + name.relativePath
        XCTAssertEqual(try String(contentsOfFile: target + "/superblock", encoding: .utf8), "superblock one")
        XCTAssertEqual(try String(contentsOfFile: target + "/0", encoding: .utf8), "part zero")
        XCTAssertFalse(try Publishing.publishCopy(of: source, name: name, into: repo, holding: lock), "identical files copied again")

        // Other bytes and one part fewer: the old delta is exchanged out whole, no stale part stays.
        try FileManager.default.removeItem(atPath: source + "/0")
        try write("superblock two", source + "/superblock")
        XCTAssertTrue(try Publishing.publishCopy(of: source, name: name, into: repo, holding: lock))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: target), ["superblock"])
        XCTAssertEqual(try String(contentsOfFile: target + "/superblock", encoding: .utf8), "superblock two")
        XCTAssertEqual(tmpEntries(repo), [], "staging left behind")
        XCTAssertTrue(FileManager.default.fileExists(atPath: repo.path + "/" + PublishLock.fileName))
    }

    /// `flock -n` on the lock file from another process: 0 when it got the lock.
    private func otherProcessLocks(_ path: String) throws -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/flock")
        p.arguments = ["-n", path, "true"]
        try p.run()
        p.waitUntilExit()
        return p.terminationStatus
    }

    /// Two writers never interleave: another process cannot take the lock while this one
    /// holds it, even through a nested holder, and can once the last holder releases it.
    func testPublishLockExcludesAnotherProcess() throws {
        let dir = try tempDir()
        let repo = try RepositoryAccess.openOrCreate(dir + "/repo")
        let file = repo.path + "/" + PublishLock.fileName
        let outer = try Publishing.lock(repo)
        XCTAssertNotEqual(try otherProcessLocks(file), 0, "another process got the lock while this one held it")
        let nested = try PublishLock(repoPath: repo.path)  // joins the held lock instead of deadlocking
        nested.release()
        XCTAssertNotEqual(try otherProcessLocks(file), 0, "releasing a nested holder dropped the lock")
        outer.release()
        XCTAssertEqual(try otherProcessLocks(file), 0, "the lock stayed held after release")
    }

    func testStatsAreMergedAndWrittenAtomically() throws {
        let dir = try tempDir()
        let archive = dir + "/archive"
        var first = DeltaStats()
        first[from: a, to: c] = DeltaStats.Entry(size: 10, uSize: 20)
        try Publishing.writeStats(try Publishing.mergedStats(first, archive: archive), archive: archive, output: { _ in })
        var second = DeltaStats()
        second[from: b, to: c] = DeltaStats.Entry(size: 30, uSize: 40)
        var lines: [String] = []
        let files = try Publishing.mergedStats(second, archive: archive)
        try Publishing.writeStats(files, archive: archive, output: { lines.append($0) })

        let path = "\(archive)/\(c.hex).json"
        let merged = try DeltaStats(json: try Data(contentsOf: URL(fileURLWithPath: path)))
        XCTAssertEqual(merged[from: a, to: c], DeltaStats.Entry(size: 10, uSize: 20), "an earlier from was lost")
        XCTAssertEqual(merged[from: b, to: c], DeltaStats.Entry(size: 30, uSize: 40))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: archive), ["\(c.hex).json"], "a temporary file stayed")
        let ref = DeltaStats.reference(for: Array(try Data(contentsOf: URL(fileURLWithPath: path))))
        XCTAssertEqual(lines.first, "delta-stats \(path): sha256 \(ref.sha256), \(ref.size) bytes")
    }

    func testDamagedStatsFileStopsTheMerge() throws {
        let dir = try tempDir()
        let archive = dir + "/archive"
        try FileManager.default.createDirectory(atPath: archive, withIntermediateDirectories: true)
        try write("{not json", "\(archive)/\(c.hex).json")
        var fresh = DeltaStats()
        fresh[from: a, to: c] = DeltaStats.Entry(size: 1, uSize: 2)
        XCTAssertThrowsError(try Publishing.mergedStats(fresh, archive: archive))
        XCTAssertEqual(try String(contentsOfFile: "\(archive)/\(c.hex).json", encoding: .utf8), "{not json")
    }

    func testOpenOrCreateRefusesANonRepository() throws {
        let dir = try tempDir()
        try write("keep", dir + "/file")
        XCTAssertThrowsError(try RepositoryAccess.openOrCreate(dir)) { error in
            XCTAssertEqual((error as? FactoryError)?.failureKind, .badInput)
            XCTAssertTrue("\(error)".contains("not empty and is not an OSTree repository"), "\(error)")
        }
    }

    func testErrorKinds() {
        XCTAssertEqual(FactoryError.kind(of: SystemError("write", "/x", code: ENOSPC)), .storage)
        XCTAssertEqual(FactoryError.kind(of: SystemError("open", "/x", code: ENOENT)), .badInput)
        XCTAssertEqual(FactoryError.kind(of: NSError(domain: NSPOSIXErrorDomain, code: Int(ENOSPC))), .storage)
        XCTAssertEqual(FactoryError.kind(of: CocoaError(.fileWriteOutOfSpace)), .storage)
        XCTAssertNil(FactoryError.kind(of: CocoaError(.fileReadCorruptFile)))
        XCTAssertEqual(FactoryError("x", causedBy: SystemError("write", "/x", code: EIO)).failureKind, .storage)
        XCTAssertEqual(FactoryError.network("x").failureKind.exitCode, 3)
    }
}
