import DeltaCompiler
import DeltaFormat
import OSTreeRepo
import XCTest

/// Our encoders against ostree's. For the same (old, new) pair the bsdiff patch bytes must
/// equal ostree's. Our rollsum must find every chunk ostree's finds: ostree computes each
/// chunk's CRC over the file's first `length` bytes instead of the chunk itself, so it misses
/// identical chunks after an edit, which ours finds (docs/encoding.md).
final class OstreeEncoderParityTests: XCTestCase {
    private struct Encoded {
        var object: Checksum
        var source: Checksum
        var patch: [UInt8]?          // bsdiff
        var writes: [[Int]] = []     // rollsum: [reading ? 1 : 0, size, reading ? old offset : -1]
    }

    /// Replays the ops of every part and collects the bsdiff and rollsum objects.
    private func encodedObjects(superblock: String) throws -> [Encoded] {
        let location = DeltaLocation(superblockPath: superblock)
        let sb = try location.inspect().superblock
        var out: [Encoded] = []
        for (i, header) in sb.parts.enumerated() {
            let file = try [UInt8](Data(contentsOf: URL(fileURLWithPath: location.directory + "/\(i)")))
            let payload = try PartPayload(decoding: try PartFile.decode(file, maxPayload: 1 << 30))
            var decoder = InstructionDecoder(ops: payload.ops, objects: header.objects)
            var objectIndex = 0, source: Checksum? = nil, reading = false
            var current: Encoded? = nil
            while let op = try decoder.next() {
                switch op {
                case .spliceMetadata, .spliceContent: objectIndex += 1
                case .setReadSource(let offset):
                    source = Checksum(bytes: payload.blob[Int(offset)..<Int(offset) + 32])
                    reading = true
                    current?.source = source!
                case .unsetReadSource: reading = false
                case .open:
                    current = Encoded(object: header.objects[objectIndex].checksum, source: source ?? header.objects[0].checksum)
                case .write(let size, let offset):
                    current?.writes.append(reading ? [1, Int(size), Int(offset)] : [0, Int(size), -1])
                case .bspatch(let offset, let length):
                    current?.patch = Array(payload.blob[Int(offset)..<Int(offset + length)])
                case .close:
                    if let c = current { out.append(c) }
                    current = nil
                    objectIndex += 1
                    reading = false
                }
            }
        }
        return out
    }

    func testBsdiffPatchesEqualOstreesAndRollsumFindsAtLeastAsMuch() throws {
        let t = try TestRepo.shared()
        let out = try Harness.makeTemporaryDirectory()
        try Harness.ostree(t.path, "static-delta", "generate", "--from=\(t.v1)", "--to=\(t.v2)",
                           "--min-fallback-size=0", "--filename=\(out)/superblock")
        let repo = try Repository(path: t.path)
        let encoded = try encodedObjects(superblock: out + "/superblock")
        let bsdiffs = encoded.filter { $0.patch != nil }, rollsums = encoded.filter { $0.patch == nil }
        XCTAssertGreaterThan(bsdiffs.count, 0)
        XCTAssertGreaterThan(rollsums.count, 0)
        for e in encoded {
            let old = try repo.loadContent(e.source).readAll(), new = try repo.loadContent(e.object).readAll()
            if let patch = e.patch {
                XCTAssertEqual(Bsdiff.diff(old: old, new: new), patch, "bsdiff patch for \(e.object.hex) differs from ostree's")
            } else {
                var writes: [[Int]] = []
                var cursor = 0
                for m in Rollsum.match(old: old, new: new).matches {
                    if m.newOffset > cursor { writes.append([0, m.newOffset - cursor, -1]) }
                    writes.append([1, m.length, m.oldOffset])
                    cursor = m.newOffset + m.length
                }
                if cursor < new.count { writes.append([0, new.count - cursor, -1]) }
                let ours = Set(writes.filter { $0[0] == 1 }), theirs = Set(e.writes.filter { $0[0] == 1 })
                XCTAssertTrue(theirs.isSubset(of: ours), "ostree found rollsum matches we missed for \(e.object.hex)")
                XCTAssertEqual(writes.reduce(0) { $0 + $1[1] }, new.count)
            }
        }
    }
}
