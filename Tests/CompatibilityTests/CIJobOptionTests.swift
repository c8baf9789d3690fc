import DeltaCompiler
import DeltaFormat
import Foundation
import XCTest

/// ci-job takes every size and encoding option of generate-delta (one option group), and each
/// one reaches the delta it writes: checked in the published delta itself.
final class CIJobOptionTests: XCTestCase {
    /// The LZMA2 dictionary-size byte in a part's xz block header: 2^(n/2+12) bytes for even n.
    private func dictionaryByte(ofPart path: String) throws -> UInt8? {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        // 'x', the 12-byte stream header, then the block header with filter 0x21 (LZMA2), one
        // property byte: the dictionary size.
        guard bytes.first == UInt8(ascii: "x"), bytes.count > 40 else { return nil }
        let header = Array(bytes[13..<40])
        guard let i = (0..<header.count - 2).first(where: { header[$0] == 0x21 && header[$0 + 1] == 0x01 }) else { return nil }
        return header[i + 2]
    }

    func testEncodingOptionsTakeEffect() throws {
        let tarballs = try FleetTarballs.shared()
        let t = tarballs.repo
        let work = try Harness.makeTemporaryDirectory()
        let deltas = work + "/deltas.json"
        try Fleet.write(Fleet.deltasFile(to: (t.v2, tarballs.fileURL("v2")), froms: [(t.v1, tarballs.fileURL("v1"))]), to: deltas)
        let repo = work + "/w/ostree_repo"
        let name = DeltaName(from: Checksum(hex: t.v1)!, to: Checksum(hex: t.v2)!)
        let location = DeltaLocation(repoPath: repo, name: name)

        /// Runs ci-job with `args` on a repository without deltas; the delta it published.
        func run(_ args: [String]) throws -> DeltaInspection {
            try? FileManager.default.removeItem(atPath: repo + "/deltas")
            try Harness.check([Harness.deltagen, "ci-job", "--deltas", deltas, "--workdir", work + "/w"] + args)
            return try location.inspect()
        }
        func nonLiteralOps(_ d: DeltaInspection) -> Int {
            d.parts.reduce(0) { sum, p in
                sum + p.opCounts.filter { $0.key != Opcode.openSpliceAndClose.showName }.values.reduce(0, +)
            }
        }

        let plain = try run(["--min-fallback-size", "0"])
        XCTAssertGreaterThan(nonLiteralOps(plain), 0, "the default delta has no bsdiff or rollsum ops to remove")
        let literal = try run(["--min-fallback-size", "0", "--literal-only"])
        XCTAssertEqual(nonLiteralOps(literal), 0, "--literal-only still wrote bsdiff or rollsum ops")
        XCTAssertGreaterThan(literal.parts.reduce(0) { $0 + ($1.opCounts[Opcode.openSpliceAndClose.showName] ?? 0) }, 0)

        let auto = try run([])
        XCTAssertEqual(auto.superblock.fallbacks.count, 0, "auto kept big2.img in a part")
        let always = try run(["--fallback-policy", "always"])
        XCTAssertEqual(always.superblock.fallbacks.count, 1, "--fallback-policy always made no fallback of big2.img")

        let part = location.directory + "/0"
        XCTAssertEqual(try dictionaryByte(ofPart: part), 22, "the default dictionary is 8 MiB")  // run([...]) above
        _ = try run(["--xz-dict-size", "32"])
        XCTAssertEqual(try dictionaryByte(ofPart: part), 26, "--xz-dict-size 32 did not reach the part's xz header")
        try Harness.check([Harness.deltagen, "verify", "--repo", repo, name.description])
    }
}
