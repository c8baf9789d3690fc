import DeltaCompiler
import DeltaFormat
import Foundation
import OSTreeRepo
import XCTest

/// Deltas whose bsdiff patches come from the cover search, applied by stock ostree offline
/// and pulled over HTTP. The debug build's DELTAGEN_TEST_BSDIFF_SEARCH=cover makes every
/// bsdiff object take the cover patch, so the test does not depend on which search wins.
final class CoverSearchApplyTests: XCTestCase {
    private let coverOnly = ["DELTAGEN_TEST_BSDIFF_SEARCH": "cover"]

    /// Generates v1 -> v2 into `repo` with cover patches only, and returns its superblock path.
    private func generateCoverDelta(_ repo: String, _ t: TestRepo) throws -> String {
        let r = try Harness.run([Harness.deltagen, "generate-delta", "--repo", repo, "--json",
                                 "--min-fallback-size", "0", t.v1, t.v2], environment: coverOnly)
        XCTAssertEqual(r.status, 0, r.stderr)
        let report = try JSONDecoder().decode(DeltaReport.self, from: Data(r.stdout.utf8))
        XCTAssertGreaterThan(report.bsdiffObjects, 0)
        try assertPatchesAreCoverSearchs(repo: repo, superblock: report.superblockPath)
        return report.superblockPath
    }

    /// Every BSPATCH op's patch is the cover search's for its pair, and at least one differs
    /// from the classic search's, so what stock ostree applies below is really the new search.
    private func assertPatchesAreCoverSearchs(repo: String, superblock: String) throws {
        let patches = try bsdiffPatches(repo: repo, superblock: superblock)
        XCTAssertGreaterThan(patches.count, 0)
        for p in patches { XCTAssertEqual(p.patch, p.cover, "a patch is not the cover search's") }
        XCTAssertGreaterThan(patches.filter { $0.patch != $0.classic }.count, 0,
                             "every cover patch equals the classic one: the test would prove nothing")
    }

    /// Each BSPATCH op's patch, with both searches' patches for its pair.
    private func bsdiffPatches(repo: String, superblock: String) throws -> [(patch: [UInt8], classic: [UInt8], cover: [UInt8])] {
        let location = DeltaLocation(superblockPath: superblock)
        let sb = try location.inspect().superblock
        let r = try Repository(path: repo)
        var out: [(patch: [UInt8], classic: [UInt8], cover: [UInt8])] = []
        for (i, header) in sb.parts.enumerated() {
            let file = try [UInt8](Data(contentsOf: URL(fileURLWithPath: location.directory + "/\(i)")))
            let payload = try PartPayload(decoding: try PartFile.decode(file, maxPayload: 1 << 30))
            var decoder = InstructionDecoder(ops: payload.ops, objects: header.objects)
            var objectIndex = 0
            var source: Checksum?
            while let op = try decoder.next() {
                switch op {
                case .spliceMetadata, .spliceContent, .close: objectIndex += 1
                case .setReadSource(let offset): source = Checksum(bytes: payload.blob[Int(offset)..<Int(offset) + 32])
                case .bspatch(let offset, let length):
                    let old = try r.loadContent(source!).readAll()
                    let new = try r.loadContent(header.objects[objectIndex].checksum).readAll()
                    let both = Bsdiff.patches(old: old, new: new, search: .both)
                    out.append((Array(payload.blob[Int(offset)..<Int(offset + length)]), both[0], both[1]))
                default: break
                }
            }
        }
        return out
    }

    /// By default each file keeps one of the two searches' patches, and on the test repository
    /// the cover search's wins for some (for all five bsdiff files, as of this test).
    func testDefaultKeepsCoverPatchesWhereTheyWin() throws {
        let t = try TestRepo.shared()
        let repo = try t.copy()
        let report = try JSONDecoder().decode(DeltaReport.self, from: Data(try Harness.check(
            [Harness.deltagen, "generate-delta", "--repo", repo, "--json", "--min-fallback-size", "0", t.v1, t.v2]).utf8))
        let patches = try bsdiffPatches(repo: repo, superblock: report.superblockPath)
        XCTAssertGreaterThan(patches.count, 0)
        for p in patches { XCTAssertTrue(p.patch == p.classic || p.patch == p.cover, "a patch is neither search's") }
        XCTAssertGreaterThan(patches.filter { $0.patch == $0.cover && $0.patch != $0.classic }.count, 0,
                             "no file kept a cover patch that differs from the classic one")
    }

    func testStockOstreeAppliesCoverPatchesOffline() throws {
        let t = try TestRepo.shared()
        let repo = try t.copy()
        let superblock = try generateCoverDelta(repo, t)
        let verify = try Harness.run([Harness.deltagen, "verify", "--repo", repo, superblock])
        XCTAssertEqual(verify.status, 0, verify.stdout)
        try Stock.applyOffline(source: repo, deltaPath: (superblock as NSString).deletingLastPathComponent,
                               from: t.v1, to: t.v2)
    }

    func testStockOstreePullsCoverPatchesOverHTTP() throws {
        let t = try TestRepo.shared()
        let server = try t.copy()
        let superblock = try generateCoverDelta(server, t)
        try Harness.ostree(server, "summary", "-u")

        let http = try LoopbackHTTPServer(directory: server)
        let work = try Harness.makeTemporaryDirectory()
        let client = work + "/client"
        try Harness.ostree(client, "init", "--mode=bare-user")
        try Harness.ostree(client, "pull-local", server, t.v1)
        try Harness.ostree(client, "remote", "add", "--no-gpg-verify", "origin", http.url)
        try Harness.ostree(client, "pull", "--require-static-deltas", "origin", t.v2)
        try Stock.assertHolds(client: client, source: server, commit: t.v2, workdir: work)
        let name = DeltaName("\(t.v1)-\(t.v2)")!.relativePath
        XCTAssertTrue(superblock.hasSuffix(name + "/superblock"))
        XCTAssertTrue(http.servedPaths().contains("/\(name)/0"), "the pull did not fetch the delta's part")
    }
}
