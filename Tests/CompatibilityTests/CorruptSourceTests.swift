import Foundation
import XCTest

/// A damaged object in the source repository stops generation with the object's name, and
/// no delta is written. Each case damages one object of v2 in an archive repo copy, runs
/// v1 → v2, and puts the object back.
final class CorruptSourceTests: XCTestCase {
    private func objectPath(_ repo: String, _ checksum: String, _ suffix: String) -> String {
        "\(repo)/objects/\(checksum.prefix(2))/\(checksum.dropFirst(2)).\(suffix)"
    }

    /// Damages the file at `path`, runs v1 → v2, checks the refusal, and restores the file.
    private func assertRefused(_ repo: String, _ small: SmallRepo, damaging path: String, _ what: String,
                               expected: String, damage: (inout Data) -> Void,
                               file: StaticString = #filePath, line: UInt = #line) throws {
        let original = try Data(contentsOf: URL(fileURLWithPath: path))
        defer { try? original.write(to: URL(fileURLWithPath: path)) }
        var damaged = original
        damage(&damaged)
        if damaged.isEmpty && what == "deleted" {
            try FileManager.default.removeItem(atPath: path)
        } else {
            try damaged.write(to: URL(fileURLWithPath: path))
        }
        let before = try DeltaAudit.snapshot(repo)
        let r = try Harness.run([Harness.deltagen, "generate-delta", "--repo", repo, "--min-fallback-size", "0",
                                 small.v1, small.v2])
        assertOneLineError(r, contains: expected, what, file: file, line: line)
        XCTAssertEqual(try DeltaAudit.snapshot(repo), before, "\(what): deltas/ changed", file: file, line: line)
        XCTAssertEqual(DeltaAudit.stagingLeftovers(repo), [], "\(what): staging left behind", file: file, line: line)
    }

    func testDamagedContentObjectIsNamed() throws {
        let small = try SmallRepo.shared()
        let repo = try small.copy()
        try Harness.check([Harness.deltagen, "generate-delta", "--repo", repo, "--inline", "--empty", small.v1])
        for (file, checksum) in small.newInV2.sorted(by: { $0.key < $1.key }) {
            let path = objectPath(repo, checksum, "filez")
            let size = try Data(contentsOf: URL(fileURLWithPath: path)).count
            let named = "object \(checksum).file is "
            // The header's length word, its size, uid and mode fields, then the zlib stream's
            // middle and end. Bytes 4-7 are padding that no checksum covers, so not among them.
            for offset in Set([0, 3, 9, 17, 26, size / 2, size - 2]) {
                try assertRefused(repo, small, damaging: path, "\(file): byte \(offset) flipped", expected: named + "corrupt") {
                    $0[offset] ^= 0x10
                }
            }
            for keep in [0, 10, size / 2, size - 1] {
                try assertRefused(repo, small, damaging: path, "\(file): truncated to \(keep)", expected: named + "corrupt") {
                    $0 = $0.prefix(keep)
                }
            }
            try assertRefused(repo, small, damaging: path, "deleted", expected: named + "missing") { $0 = Data() }
        }
    }

    func testDamagedMetadataObjectIsNamed() throws {
        let small = try SmallRepo.shared()
        let repo = try small.copy()
        let listing = try Harness.ostree(repo, "ls", "-Cd", small.v2, "/data")
        let fields = listing.split(separator: " ", omittingEmptySubsequences: true)
        let tree = String(fields[4]), meta = String(fields[5])
        let treePath = objectPath(repo, tree, "dirtree")
        try assertRefused(repo, small, damaging: treePath, "dirtree flipped", expected: "object \(tree).dirtree is corrupt") {
            $0[$0.count / 2] ^= 0x01
        }
        try assertRefused(repo, small, damaging: treePath, "dirtree truncated", expected: "object \(tree).dirtree is corrupt") {
            $0 = $0.prefix($0.count - 3)
        }
        try assertRefused(repo, small, damaging: treePath, "deleted", expected: "object \(tree).dirtree is missing") { $0 = Data() }
        let metaPath = objectPath(repo, meta, "dirmeta")
        try assertRefused(repo, small, damaging: metaPath, "dirmeta flipped", expected: "object \(meta).dirmeta is corrupt") {
            $0[$0.count - 1] ^= 0x01
        }
    }
}
