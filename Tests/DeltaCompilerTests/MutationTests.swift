import DeltaFormat
import TestUtilities
import XCTest
@testable import DeltaCompiler

/// Thousands of damaged deltas through the same steps as `verify` (superblock, part checksum,
/// decompression, payload, op replay against the old files): each one either verifies or is
/// rejected with an error. A crash, hang or runaway allocation would fail the test run.
final class MutationTests: XCTestCase {
    private struct Fixture {
        var superblock: [UInt8]
        var part: [UInt8]
        var sources: [Checksum: [UInt8]]
        /// The objects the builder put in the part, in order.
        var objects: [ObjectName]
    }

    private func content(_ bytes: [UInt8], mode: UInt32 = 0o100644, symlink: String? = nil) -> Checksum {
        ContentObjectHeader.checksum(mode: FileMode(uid: 0, gid: 0, mode: mode), symlinkTarget: symlink, xattrs: [],
                                     content: symlink == nil ? bytes : [])
    }

    /// A part with every op kind: metadata and content splices, a rollsum and a bsdiff object.
    private func fixture() throws -> Fixture {
        var rng = SeededGenerator(seed: 5)
        let oldA = (0..<20_000).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        var newA = oldA
        for i in stride(from: 100, to: newA.count, by: 1500) { newA[i] ^= 0x33 }
        let oldB = Array((1...3000).map { "row \($0)\n" }.joined().utf8)
        let newB = Array(oldB[..<9000]) + Array("inserted text\n".utf8) + Array(oldB[9000...])
        let newC = Array("a brand new file\n".utf8)
        let mode = FileMode(uid: 0, gid: 0, mode: 0o100644), link = FileMode(uid: 0, gid: 0, mode: 0o120777)
        let meta = Array("pretend dirtree bytes".utf8)

        var part = PartBuilder()
        part.addMetadata(ObjectName(SHA256Hasher.digest(meta), .dirTree), bytes: meta)
        part.addContent(content(newC), mode: mode, xattrs: [], bytes: newC)
        part.addContent(content([], mode: link.mode, symlink: "../target"), mode: link, xattrs: [], bytes: Array("../target".utf8))
        part.addRollsum(content(newB), mode: mode, xattrs: [], source: content(oldB), new: newB,
                        matches: Rollsum.match(old: oldB, new: newB).matches)
        part.addBsdiff(content(newA), mode: mode, xattrs: [], source: content(oldA), newSize: UInt64(newA.count),
                       patch: Bsdiff.diff(old: oldA, new: newA))
        let body = part.payload().serialized()
        let file = try PartFile.encode(body, preset: 0)
        let sb = Superblock(name: DeltaName(from: SHA256Hasher.digest([1]), to: SHA256Hasher.digest([2])), timestamp: 1,
                            commit: Array("commit".utf8),
                            parts: [PartHeader(checksum: SHA256Hasher.digest(file), size: UInt64(file.count),
                                               uncompressedSize: UInt64(body.count), objects: part.objects)],
                            fallbacks: [])
        return Fixture(superblock: sb.serialized(), part: file, sources: [content(oldA): oldA, content(oldB): oldB],
                       objects: part.objects)
    }

    /// The verifier's checks that need no repository; returns the objects the ops rebuilt.
    @discardableResult
    private func verify(superblock: [UInt8], part: [UInt8], sources: [Checksum: [UInt8]]) throws -> [ObjectName] {
        let sb = try Superblock.decode(file: superblock).superblock
        var rebuilt: [ObjectName] = []
        for header in sb.parts {
            guard part.count == header.size, SHA256Hasher.digest(part) == header.checksum else {
                throw DeltaFormatError.malformed("part size or checksum mismatch")
            }
            let body = try PartFile.decode(part, maxPayload: Int(clamping: min(DeltaReader.payloadLimit(for: header), 1 << 24)))
            guard UInt64(body.count) == header.uncompressedSize else { throw DeltaFormatError.malformed("usize mismatch") }
            try PartReplay.run(try PartPayloadIndex(body), objects: header.objects, sources: { sources[$0] },
                               written: { w in
                                   // Metadata is hashed here again, apart from the replay's own check.
                                   if let bytes = w.metadata, SHA256Hasher.digest(bytes) != w.object.checksum {
                                       throw DeltaFormatError.malformed("\(w.object) rebuilt with other bytes")
                                   }
                                   rebuilt.append(w.object)
                               })
        }
        return rebuilt
    }

    func testTheFixtureVerifies() throws {
        let f = try fixture()
        XCTAssertNoThrow(try verify(superblock: f.superblock, part: f.part, sources: f.sources))
    }

    func testFiveThousandMutationsVerifyOrFailCleanly() throws {
        let f = try fixture()
        let body = try PartFile.decode(f.part, maxPayload: 1 << 24)
        // The builder's list, not the replay's: the replay names the objects its superblock
        // lists, so comparing one replay with another could not fail.
        let original = f.objects
        XCTAssertEqual(try verify(superblock: f.superblock, part: f.part, sources: f.sources), original)
        var rng = SeededGenerator(seed: 0x5EED)
        var verified = 0, rejected = 0
        for round in 0..<5000 {
            var superblock = f.superblock, part = f.part
            switch round % 4 {
            case 0: mutate(&superblock, &rng)
            case 1: mutate(&part, &rng)
            default:
                // Damage the payload, then re-sign it so the damage reaches the op replay.
                var payload = body
                mutate(&payload, &rng)
                part = try PartFile.encode(payload, preset: 0)
                var sb = try Superblock.decode(file: f.superblock).superblock
                sb.parts[0].checksum = SHA256Hasher.digest(part)
                sb.parts[0].size = UInt64(part.count)
                sb.parts[0].uncompressedSize = UInt64(payload.count)
                superblock = sb.serialized()
            }
            do {
                // Damage that verifies must be harmless: the same objects, each with its checksum.
                let rebuilt = try verify(superblock: superblock, part: part, sources: f.sources)
                XCTAssertEqual(rebuilt, original)
                verified += 1
            } catch {
                rejected += 1
            }
        }
        XCTAssertGreaterThan(verified, 0, "some damage is harmless (a timestamp, a padding byte)")
        XCTAssertGreaterThan(rejected, 4000, "most random damage must be caught")
    }

    private func mutate(_ bytes: inout [UInt8], _ rng: inout SeededGenerator) {
        guard !bytes.isEmpty else { return }
        let at = Int(rng.next() % UInt64(bytes.count))
        switch rng.next() % 5 {
        case 0: bytes.removeLast(Int(rng.next() % UInt64(bytes.count)))                   // truncation
        case 1: bytes[at] ^= UInt8(1 << (rng.next() % 8))                                // bit flip
        case 2: for j in at..<min(bytes.count, at + 8) { bytes[j] = 0xFF }               // huge sizes/offsets
        case 3: for j in at..<min(bytes.count, at + 4) { bytes[j] = 0x80 }               // unterminated varints
        default: bytes.insert(contentsOf: (0..<(1 + rng.next() % 16)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }, at: at)
        }
    }
}
