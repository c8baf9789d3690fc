import DeltaFormat
import Foundation
import TestUtilities
import XCTest
@testable import DeltaCompiler

/// Parts compressed while they fill: what comes out is the payload that went in, in a
/// valid part file, whatever the order the parts finish in.
final class PartCompressorTests: XCTestCase {
    private let head = PartPayload.head(modes: [FileMode(uid: 0, gid: 0, mode: 0o100644)], xattrSets: [[]])

    private func bytes(_ count: Int, seed: UInt64) -> [UInt8] {
        var rng = SeededGenerator(seed: seed)
        // Half random, half text, so xz has something to do either way.
        return (0..<count).map { i in i % 2 == 0 ? UInt8(truncatingIfNeeded: rng.next()) : UInt8(97 + i % 26) }
    }

    private func compressor(jobs: Int, parts: Int, inline: Bool, directory: String = "",
                            doorbell: Doorbell = Doorbell()) -> PartCompressor {
        PartCompressor(jobs: jobs, slots: CoreSlots(count: jobs), doorbell: doorbell, totalParts: parts,
                       settings: XZ.Settings(preset: 0), inline: inline, directory: directory, progress: { _ in })
    }

    func testEachPartDecodesToTheBytesAppendedToIt() throws {
        let doorbell = Doorbell()
        let c = compressor(jobs: 3, parts: 3, inline: true, doorbell: doorbell)
        var payloads: [[UInt8]] = []
        var streams: [PartStream] = []
        for i in 0..<3 {
            streams.append(try XCTUnwrap(c.tryOpen(index: i, head: head, expectedSize: 1 << 20)))
            payloads.append(head)
        }
        // Interleaved appends, several slices per part, one above the 1 MiB slice size.
        for round in 0..<4 {
            for i in 0..<3 {
                let piece = bytes(round == 3 && i == 1 ? (1 << 20) + 777 : 10_000 + round * 31 + i, seed: UInt64(round * 10 + i))
                streams[i].append([.bytes(piece)])
                payloads[i] += piece
            }
        }
        for i in [2, 0, 1] {
            let tail: [[UInt8]] = [[UInt8(i)], [9, 9]]
            streams[i].close(tail: tail, objects: [])
            payloads[i] += tail.flatMap { $0 }
        }
        let results = try c.finish(count: 3)
        XCTAssertEqual(results.count, 3)
        for (i, result) in results.enumerated() {
            let file = try XCTUnwrap(result.inlineBytes)
            XCTAssertEqual(result.header.size, UInt64(file.count))
            XCTAssertEqual(result.header.checksum, SHA256Hasher.digest(file))
            XCTAssertEqual(result.header.uncompressedSize, UInt64(payloads[i].count))
            XCTAssertEqual(try PartFile.decode(file, maxPayload: 1 << 24), payloads[i], "part \(i)")
        }
        XCTAssertGreaterThanOrEqual(doorbell.count, 3, "each finished part rings the packer's bell")
    }

    func testNoMoreThanJobsPartsAreOpenAtOnce() throws {
        let c = compressor(jobs: 2, parts: 3, inline: true)
        let first = try XCTUnwrap(c.tryOpen(index: 0, head: head, expectedSize: 100))
        let second = try XCTUnwrap(c.tryOpen(index: 1, head: head, expectedSize: 100))
        XCTAssertNil(c.tryOpen(index: 2, head: head, expectedSize: 100))
        first.close(tail: [], objects: [])
        c.drain()
        let third = try XCTUnwrap(c.tryOpen(index: 2, head: head, expectedSize: 100), "a finished part frees its slot")
        second.close(tail: [], objects: [])
        third.close(tail: [], objects: [])
        XCTAssertEqual(try c.finish(count: 3).count, 3)
    }

    func testPartFilesAreWrittenWithTheirChecksum() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("deltagen-parts-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let c = compressor(jobs: 1, parts: 1, inline: false, directory: directory)
        let stream = try XCTUnwrap(c.tryOpen(index: 0, head: head, expectedSize: 50_000))
        let body = bytes(50_000, seed: 7)
        stream.append([.bytes(body)])
        stream.close(tail: [], objects: [])
        let result = try XCTUnwrap(c.finish(count: 1).first)
        XCTAssertNil(result.inlineBytes)
        let file = try Array(Data(contentsOf: URL(fileURLWithPath: directory + "/0")))
        XCTAssertEqual(result.header.checksum, SHA256Hasher.digest(file))
        XCTAssertEqual(try PartFile.decode(file, maxPayload: 1 << 24), head + body)
        let mode = try FileManager.default.attributesOfItem(atPath: directory + "/0")[.posixPermissions] as? Int
        XCTAssertEqual(mode, 0o644)
    }

    func testAStreamedSegmentThatChangesFailsThePart() throws {
        let c = compressor(jobs: 1, parts: 1, inline: true)
        let stream = try XCTUnwrap(c.tryOpen(index: 0, head: head, expectedSize: 100))
        // Says 100 bytes, delivers 150: a source that grew while it was read.
        stream.append([.stream(BlobStream(size: 100) { emit in try emit([UInt8](repeating: 1, count: 150)) })])
        stream.close(tail: [], objects: [])
        XCTAssertThrowsError(try c.finish(count: 1)) { error in
            XCTAssertTrue("\(error)".contains("grew"), "\(error)")
        }
    }
}
