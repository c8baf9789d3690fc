import DeltaCompiler
import DeltaFormat
import Foundation
import XCTest

/// `deltagen verify` accepts good deltas, ours and ostree's, and names each kind of damage.
final class VerifyTests: XCTestCase {
    private func verify(_ repo: String, _ delta: String) throws -> CommandResult {
        try Harness.run([Harness.deltagen, "verify", "--repo", repo, delta])
    }

    private func superblockPath(_ repo: String, _ name: String) -> String {
        repo + "/" + DeltaName(name)!.relativePath + "/superblock"
    }

    func testVerifiesDeltagenAndOstreeDeltas() throws {
        let t = try TestRepo.shared()
        let repo = try t.copy()
        try Harness.check([Harness.deltagen, "generate-delta", "--repo", repo, "--max-chunk-size", "1", t.v1, t.v3])
        try Harness.check([Harness.deltagen, "generate-delta", "--repo", repo, "--inline", "--empty", t.v2])
        try Harness.ostree(repo, "static-delta", "generate", "--from=\(t.v1)", "--to=\(t.v2)")
        try Harness.ostree(repo, "static-delta", "generate", "--empty", "--to=\(t.v3)")
        for name in ["\(t.v1)-\(t.v3)", t.v2, "\(t.v1)-\(t.v2)", t.v3] {
            let r = try verify(repo, name)
            XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
            XCTAssertTrue(r.stdout.hasSuffix("Verification OK\n"), r.stdout)
            XCTAssertFalse(r.stdout.contains("FAIL"), r.stdout)
        }
    }

    /// A from->to delta in a private repo copy, plus its decoded superblock.
    private func damagedFixture() throws -> (TestRepo, String, String, Superblock) {
        let t = try TestRepo.shared()
        let repo = try t.copy()
        try Harness.check([Harness.deltagen, "generate-delta", "--repo", repo, "--min-fallback-size", "0", t.v1, t.v2])
        let path = superblockPath(repo, "\(t.v1)-\(t.v2)")
        let sb = try Superblock.decode(file: [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))).superblock
        return (t, repo, path, sb)
    }

    /// Rewrites part 0 with `change` applied to its payload, and the superblock to match it.
    private func rewritePart0(_ path: String, _ sb: Superblock, change: (inout PartPayload, inout [ObjectName]) -> Void) throws {
        let dir = URL(fileURLWithPath: path).deletingLastPathComponent().path
        let file = [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir + "/0")))
        var payload = try PartPayload(decoding: try PartFile.decode(file, maxPayload: 1 << 30))
        var objects = sb.parts[0].objects
        change(&payload, &objects)
        let body = payload.serialized()
        let part = try PartFile.encode(body)
        try Data(part).write(to: URL(fileURLWithPath: dir + "/0"))
        var updated = sb
        updated.parts[0] = PartHeader(checksum: SHA256Hasher.digest(part), size: UInt64(part.count),
                                      uncompressedSize: UInt64(body.count), objects: objects)
        try Data(updated.serialized()).write(to: URL(fileURLWithPath: path))
    }

    private func assertFails(_ repo: String, _ path: String, check: String, contains text: String,
                             file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try verify(repo, path)
        XCTAssertEqual(r.status, 1, file: file, line: line)
        let failures = r.stdout.split(separator: "\n").filter { $0.hasPrefix("FAIL") }
        XCTAssertTrue(failures.contains { $0.hasPrefix("FAIL \(check):") && $0.contains(text) },
                      "expected FAIL \(check): …\(text)… in:\n\(r.stdout)", file: file, line: line)
        XCTAssertTrue(r.stdout.hasSuffix("Verification failed\n"), file: file, line: line)
    }

    func testMissingObject() throws {
        let (_, repo, path, sb) = try damagedFixture()
        // Drop the last object and its op: apply-offline would succeed and leave TO incomplete.
        var dropped: ObjectName!
        try rewritePart0(path, sb) { payload, objects in
            var decoder = InstructionDecoder(ops: payload.ops, objects: objects)
            var kept: [Instruction] = []
            while let i = try! decoder.next() { kept.append(i) }
            XCTAssertEqual(kept.last?.opcode, .openSpliceAndClose)
            kept.removeLast()
            dropped = objects.removeLast()
            payload.ops = []
            for i in kept { i.append(to: &payload.ops) }
        }
        try assertFails(repo, path, check: "completeness", contains: "\(dropped!) is neither in FROM")
    }

    func testWrongChecksumInAnOpResult() throws {
        let (_, repo, path, sb) = try damagedFixture()
        try rewritePart0(path, sb) { payload, _ in payload.blob[payload.blob.count - 1] ^= 0xFF }
        try assertFails(repo, path, check: "part 0 ops", contains: "op result has checksum")
    }

    func testPartChecksumMismatch() throws {
        let (_, repo, path, sb) = try damagedFixture()
        let part = URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent("0")
        var bytes = [UInt8](try Data(contentsOf: part))
        bytes[bytes.count / 2] ^= 0x01
        try Data(bytes).write(to: part)
        try assertFails(repo, path, check: "part 0", contains: "checksum mismatch: expected \(sb.parts[0].checksum.hex)")
    }

    func testUsizeMismatch() throws {
        let (_, repo, path, sb) = try damagedFixture()
        var updated = sb
        updated.parts[0].uncompressedSize += 1
        try Data(updated.serialized()).write(to: URL(fileURLWithPath: path))
        try assertFails(repo, path, check: "part 0 ops", contains: "usize mismatch: declared \(sb.parts[0].uncompressedSize + 1)")
    }
}

/// The fuzz target's plain build replays inputs through the fuzzer's entry point.
final class FuzzCorpusTests: XCTestCase {
    func testFuzzEntryAcceptsRealInlineDeltas() throws {
        let t = try TestRepo.shared()
        let out = try Harness.makeTemporaryDirectory()
        try Harness.check([Harness.deltagen, "generate-delta", "--repo", t.path, "--inline", "--min-fallback-size", "0",
                           "--filename", out + "/ours", t.v1, t.v2])
        try Harness.ostree(t.path, "static-delta", "generate", "--inline", "--min-fallback-size=0",
                           "--from=\(t.v2)", "--to=\(t.v3)", "--filename=\(out)/theirs")
        var garbage = [UInt8](try Data(contentsOf: URL(fileURLWithPath: out + "/ours")))
        garbage.removeLast(garbage.count / 3)
        try Data(garbage).write(to: URL(fileURLWithPath: out + "/truncated"))
        let fuzz = URL(fileURLWithPath: Harness.deltagen).deletingLastPathComponent().appendingPathComponent("DeltaFuzz").path
        let r = try Harness.run([fuzz, out + "/ours", out + "/theirs", out + "/truncated"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, "checked 3 inputs\n")
    }
}
