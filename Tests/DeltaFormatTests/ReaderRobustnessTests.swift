import TestUtilities
import XCTest
@testable import DeltaFormat

/// The reader must survive any input: every mutation either parses or throws, never traps.
final class ReaderRobustnessTests: XCTestCase {
    private func sampleDelta() throws -> (superblock: [UInt8], part: [UInt8]) {
        var builderOps = [UInt8]()
        let meta = Array("dirtree-bytes".utf8), file = Array("file content here".utf8)
        Instruction.spliceMetadata(size: UInt64(meta.count), offset: 0).append(to: &builderOps)
        Instruction.spliceContent(modeIndex: 0, xattrIndex: 0, size: UInt64(file.count), offset: UInt64(meta.count)).append(to: &builderOps)
        let payload = PartPayload(modes: [FileMode(uid: 0, gid: 0, mode: 0o100644)], xattrSets: [[]],
                                  blob: meta + file, ops: builderOps).serialized()
        let part = try PartFile.encode(payload)
        let objects = [ObjectName(SHA256Hasher.digest(meta), .dirTree), ObjectName(SHA256Hasher.digest(file), .file)]
        let sb = Superblock(name: DeltaName(from: SHA256Hasher.digest([9]), to: SHA256Hasher.digest([8])),
                            timestamp: 1, commit: sampleCommit(),
                            parts: [PartHeader(checksum: SHA256Hasher.digest(part), size: UInt64(part.count),
                                               uncompressedSize: UInt64(payload.count), objects: objects)],
                            fallbacks: [])
        return (sb.serialized(), part)
    }

    func testSampleDeltaInspects() throws {
        let (sb, part) = try sampleDelta()
        let d = try DeltaReader.inspect(superblockFile: sb) { _, header, _ in try ReaderRobustnessTests.load(part, header) }
        XCTAssertEqual(d.parts.count, 1)
        XCTAssertEqual(d.parts[0].opCounts["openspliceclose"], 2)
        // Figures the reader finds by parsing the payload, checked against the fixture's
        // own: comparing payloadSize with the declared size could not fail, since the fixture
        // declares the payload's length and inspect rejects any other.
        let payload = try PartFile.decode(part, maxPayload: 1 << 20)
        XCTAssertEqual(d.parts[0].payloadSize, payload.count)
        XCTAssertEqual(d.parts[0].blobSize, "dirtree-bytes".utf8.count + "file content here".utf8.count)
        XCTAssertEqual(d.parts[0].modes, 1)
        XCTAssertEqual(d.parts[0].xattrSets, 1)
        XCTAssertEqual(d.parts[0].objects, 2)
    }

    func testThousandsOfMutationsNeverCrash() throws {
        let (sb, part) = try sampleDelta()
        var rng = SeededGenerator(seed: 0xDE17A)
        var parsed = 0, rejected = 0
        for round in 0..<3000 {
            var s = sb, p = part
            let target = round % 3  // mutate the superblock, the part, or the decompressed payload
            switch target {
            case 0: mutate(&s, &rng)
            case 1: mutate(&p, &rng)
            default:
                var payload = try PartFile.decode(part, maxPayload: 1 << 20)
                mutate(&payload, &rng)
                p = try PartFile.encode(payload, preset: 0)
                s = try resign(sb, part: p)
            }
            do {
                _ = try DeltaReader.inspect(superblockFile: s) { _, header, _ in try ReaderRobustnessTests.load(p, header) }
                parsed += 1
            } catch {
                rejected += 1
            }
        }
        // Both outcomes occur: damage is caught, and harmless damage (a timestamp, a byte of
        // content whose part was re-signed) still parses.
        XCTAssertGreaterThan(rejected, 1000)
        XCTAssertGreaterThan(parsed, 0)
    }

    /// What a caller of `inspect` does for a part file: check it against the header, decode it.
    static func load(_ part: [UInt8], _ header: PartHeader) throws -> [UInt8] {
        guard UInt64(part.count) == header.size, SHA256Hasher.digest(part) == header.checksum else {
            throw DeltaFormatError.malformed("part size or checksum mismatch")
        }
        return try PartFile.decode(part, maxPayload: Int(clamping: min(DeltaReader.payloadLimit(for: header), 1 << 24)))
    }

    /// Rewrites the part checksum and size so a mutated payload reaches the payload parser.
    private func resign(_ superblock: [UInt8], part: [UInt8]) throws -> [UInt8] {
        var sb = try Superblock.decode(file: superblock).superblock
        sb.parts[0].checksum = SHA256Hasher.digest(part)
        sb.parts[0].size = UInt64(part.count)
        return sb.serialized()
    }

    private func mutate(_ bytes: inout [UInt8], _ rng: inout SeededGenerator) {
        guard !bytes.isEmpty else { return }
        switch rng.next() % 4 {
        case 0: bytes.removeLast(Int(rng.next() % UInt64(bytes.count)))  // truncate
        case 1:  // flip bits
            for _ in 0..<(1 + rng.next() % 4) {
                let i = Int(rng.next() % UInt64(bytes.count))
                bytes[i] ^= UInt8(1 << (rng.next() % 8))
            }
        case 2:  // overwrite a run with 0xFF: huge offsets and sizes
            let i = Int(rng.next() % UInt64(bytes.count))
            for j in i..<min(bytes.count, i + 8) { bytes[j] = 0xFF }
        default:  // insert junk
            let i = Int(rng.next() % UInt64(bytes.count))
            bytes.insert(contentsOf: (0..<(rng.next() % 16)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }, at: i)
        }
    }
}

