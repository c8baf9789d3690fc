import DeltaFormat
import Foundation
import OSTreeRepo
import XCTest
@testable import DeltaCompiler

/// The publish race two runs of one pair can hit: both find the delta absent, one renames
/// first, and the other's rename meets a non-empty directory.
final class StagingRaceTests: XCTestCase {
    func testLosingTheRenameRaceStillPublishes() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("deltagen-race-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let repo = try Repository.create(path: dir + "/repo", mode: .archive)
        let name = DeltaName(from: nil, to: Checksum(hex: String(repeating: "ab", count: 32))!)
        let first = try StagingDirectory(repo: repo, filename: nil)
        let second = try StagingDirectory(repo: repo, filename: nil)
        try first.writeSuperblock([1])
        try second.writeSuperblock([2])

        var firstPath: String?
        var rivalRan = false
        second.beforeRename = {
            guard !rivalRan else { return }
            rivalRan = true
            firstPath = try? first.publish(name: name, partCount: 0)
        }
        let secondPath = try second.publish(name: name, partCount: 0)
        first.discard()
        second.discard()

        XCTAssertTrue(rivalRan)
        XCTAssertEqual(firstPath, secondPath)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: secondPath)), Data([2]), "the later run's delta is in place")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: repo.path + "/tmp").filter { $0.hasPrefix("deltagen") }
        XCTAssertEqual(leftovers, [])
        let deltaDir = (secondPath as NSString).deletingLastPathComponent
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: deltaDir), ["superblock"])
    }
}
