import DeltaFormat
import Foundation
import OSTreeRepo
import XCTest
@testable import DeltaFactory

/// Delta index bytes depend only on which deltas exist, not on the order they were made in.
/// On tmpfs, readdir returns entries in creation order, and libostree 2022.7's reindex then
/// writes different bytes for the same deltas; ours must not.
final class DeltaIndexTests: XCTestCase {
    private let to = Checksum(hex: String(repeating: "c", count: 64))!

    /// A directory on tmpfs when there is one (where creation order shows in readdir).
    private func tempDir() throws -> String {
        let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm/" : NSTemporaryDirectory()
        let path = base + "deltagen-index-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    /// A repository with a delta from each of `froms` (and one from scratch) to `to`, made
    /// in the given order; a superblock's bytes are all an index reads.
    private func repo(_ froms: [Checksum]) throws -> Repository {
        let repo = try Repository.create(path: try tempDir() + "/repo")
        for from in froms.map(Optional.some) + [nil] {
            let dir = "\(repo.path)/\(DeltaName(from: from, to: to).relativePath)"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try Data((from?.hex ?? "scratch").utf8).write(to: URL(fileURLWithPath: dir + "/superblock"))
        }
        return repo
    }

    func testIndexBytesDoNotDependOnCreationOrder() throws {
        let froms = (0..<40).map { SHA256Hasher.digest(Array("from \($0)".utf8)) }
        let forward = try repo(froms), backward = try repo(froms.reversed())
        let index = DeltaName(from: nil, to: to).indexRelativePath
        func bytes(_ r: Repository) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: "\(r.path)/\(index)")) }

        try forward.reindexDeltas()
        try backward.reindexDeltas()
        let libostreeSame = try bytes(forward) == bytes(backward)
        let libostreeEntries = try forward.indexedDeltas(to: to)
        print("libostree's reindex gave \(libostreeSame ? "identical" : "different") bytes for the two creation orders")

        XCTAssertEqual(try DeltaIndexes.write(repoPath: forward.path).count, 1)
        XCTAssertEqual(try DeltaIndexes.write(repoPath: backward.path).count, 1)
        XCTAssertEqual(try bytes(forward), try bytes(backward))
        // The same entries libostree lists, read back through libostree.
        XCTAssertEqual(try forward.indexedDeltas(to: to), libostreeEntries)
        XCTAssertEqual(libostreeEntries.count, 41)
        // A second write finds nothing to change.
        XCTAssertEqual(try DeltaIndexes.write(repoPath: forward.path), [])
    }

    func testIndexOfATargetWithoutDeltasIsRemoved() throws {
        let r = try repo([SHA256Hasher.digest([1])])
        try DeltaIndexes.write(repoPath: r.path)
        let index = "\(r.path)/\(DeltaName(from: nil, to: to).indexRelativePath)"
        XCTAssertTrue(FileManager.default.fileExists(atPath: index))
        try FileManager.default.removeItem(atPath: "\(r.path)/deltas")
        XCTAssertEqual(try DeltaIndexes.write(repoPath: r.path), [index])
        XCTAssertFalse(FileManager.default.fileExists(atPath: index))
    }

    func testEntriesAreSortedByName() {
        let x = Checksum(hex: String(repeating: "1", count: 64))!, y = Checksum(hex: String(repeating: "2", count: 64))!
        let d = SHA256Hasher.digest([0])
        let one = DeltaIndexes.indexBytes([(DeltaName(from: y, to: to), d), (DeltaName(from: x, to: to), d)])
        let two = DeltaIndexes.indexBytes([(DeltaName(from: x, to: to), d), (DeltaName(from: y, to: to), d)])
        XCTAssertEqual(one, two)
        let text = String(decoding: one, as: UTF8.self)
        XCTAssertLessThan(text.range(of: x.hex)!.lowerBound, text.range(of: y.hex)!.lowerBound)
    }
}
