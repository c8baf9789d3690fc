import DeltaFormat
import Foundation
import OSTreeRepo
import TestUtilities
import XCTest
@testable import DeltaCompiler

/// The packer on synthetic objects: every object lands in the part the layout gave it, in
/// plan order, each part replays to the objects it lists, and the bytes do not depend on
/// how many parts are open at once.
final class PartPackerTests: XCTestCase {
    private struct Input {
        var planned: [PlannedContent]
        var contents: [[UInt8]]
        var metadata: [(ObjectName, [UInt8])]
    }

    private func input(count: Int) -> Input {
        var rng = SeededGenerator(seed: 42)
        var planned: [PlannedContent] = [], contents: [[UInt8]] = []
        for i in 0..<count {
            let size = Int(rng.next() % 40_000) + (i % 5 == 0 ? 60_000 : 0)
            let bytes = (0..<size).map { j in j % 3 == 0 ? UInt8(truncatingIfNeeded: rng.next()) : UInt8(i % 200) }
            let mode: UInt32 = i % 4 == 0 ? 0o100755 : 0o100644
            let fileMode = FileMode(uid: 0, gid: 0, mode: mode)
            let checksum = ContentObjectHeader.checksum(mode: fileMode, symlinkTarget: nil, xattrs: [], content: bytes)
            let header = ContentHeader(uid: 0, gid: 0, mode: mode, size: UInt64(size), symlinkTarget: nil, xattrs: [])
            planned.append(PlannedContent(checksum: checksum, path: "/f\(i)", header: header, predecessor: nil))
            contents.append(bytes)
        }
        let metadata = (0..<3).map { i -> (ObjectName, [UInt8]) in
            let bytes = Array("dirtree \(i)".utf8)
            return (ObjectName(SHA256Hasher.digest(bytes), .dirTree), bytes)
        }
        return Input(planned: planned, contents: contents, metadata: metadata)
    }

    /// Packs `input` with `jobs` parts open, objects `fallback` made fallbacks; returns what
    /// the packer reports and the parts' files in order.
    private func pack(_ input: Input, jobs: Int, maxChunkSize: Int, fallback: Set<Int> = [])
        throws -> (packed: PartPacker.Packed, layout: PartLayout, parts: [PartCompressor.Result]) {
        let tables = ContentPlan.tables(input.planned)
        let layout = PartLayout(metadataSizes: input.metadata.map { $0.1.count },
                                contentSizes: input.planned.map(PartLayout.expectedSize),
                                tableSize: PartPayload.head(modes: tables.modes, xattrSets: tables.xattrSets).count,
                                maxChunkSize: maxChunkSize)
        let slots = CoreSlots(count: jobs)
        let doorbell = Doorbell()
        let compressor = PartCompressor(jobs: jobs, slots: slots, doorbell: doorbell, totalParts: layout.parts.count,
                                        settings: XZ.Settings(preset: 0), inline: true, directory: "", progress: { _ in })
        let contents = input.contents
        let session = EncodingSession(items: input.planned, jobs: jobs, slots: slots, streamAbove: .max,
                                      doorbell: doorbell) { item in
            let i = Int(item.path.dropFirst(2))!
            if fallback.contains(i) {
                return .fallback(FallbackEntry(object: ObjectName(item.checksum, .file), compressedSize: 1,
                                               uncompressedSize: item.header.size))
            }
            return .literal(item.checksum, item.header, contents[i])
        }
        defer { session.stop() }
        let packed = try PartPacker(layout: layout, metadata: input.metadata, tables: tables, compressor: compressor,
                                    doorbell: doorbell, report: { _ in }).pack(session, total: input.planned.count)
        return (packed, layout, try compressor.finish(count: packed.partCount))
    }

    func testEveryObjectIsInItsPartAndReplays() throws {
        let input = input(count: 40)
        let (packed, layout, parts) = try pack(input, jobs: 3, maxChunkSize: 300_000)
        XCTAssertGreaterThan(layout.parts.count, 3, "the fixture spans several parts")
        XCTAssertEqual(packed.partCount, layout.parts.count)
        XCTAssertEqual(packed.objectCount, input.planned.count + input.metadata.count)
        XCTAssertEqual(packed.fallbacks, [])
        let sources: [Checksum: [UInt8]] = [:]
        for (i, part) in parts.enumerated() {
            let expected = layout.parts[i].content.map { ObjectName(input.planned[$0].checksum, .file) }
                + layout.parts[i].metadata.map { input.metadata[$0].0 }
            XCTAssertEqual(Set(part.header.objects), Set(expected), "part \(i) holds what the layout gave it")
            let payload = try PartFile.decode(try XCTUnwrap(part.inlineBytes), maxPayload: 1 << 26)
            XCTAssertEqual(part.header.uncompressedSize, UInt64(payload.count))
            var rebuilt: [ObjectName] = []
            try PartReplay.run(try PartPayloadIndex(payload), objects: part.header.objects, sources: { sources[$0] },
                               written: { rebuilt.append($0.object) })
            XCTAssertEqual(rebuilt, part.header.objects)
        }
    }

    func testTheBytesDoNotDependOnHowManyPartsAreOpen() throws {
        let input = input(count: 30)
        let one = try pack(input, jobs: 1, maxChunkSize: 200_000).parts.map(\.header)
        let four = try pack(input, jobs: 4, maxChunkSize: 200_000).parts.map(\.header)
        XCTAssertGreaterThan(one.count, 2)
        XCTAssertEqual(one, four)
    }

    func testFallbacksStayOutOfTheParts() throws {
        let input = input(count: 12)
        let (packed, _, parts) = try pack(input, jobs: 2, maxChunkSize: 150_000, fallback: [3, 7])
        XCTAssertEqual(packed.fallbacks.map(\.object), [3, 7].map { ObjectName(input.planned[$0].checksum, .file) })
        let inParts = Set(parts.flatMap(\.header.objects))
        XCTAssertFalse(inParts.contains(ObjectName(input.planned[3].checksum, .file)))
        XCTAssertEqual(packed.objectCount, input.planned.count - 2 + input.metadata.count)
    }
}
