import DeltaFormat
import TestUtilities
import XCTest
@testable import DeltaCompiler

/// The rollsum that reads files on disk in blocks finds exactly the chunks and matches of
/// the in-memory one, across block edges and through long runs without a split point.
final class RollsumStreamingTests: XCTestCase {
    private func sample(_ seed: UInt64) -> (old: [UInt8], new: [UInt8]) {
        var rng = SeededGenerator(seed: seed)
        var old = (0..<1_300_000).map { _ in UInt8.random(in: 0...255, using: &rng) }
        // A run of zeros has no split point: chunks are cut at 32 KiB there.
        old.replaceSubrange(400_000..<700_000, with: [UInt8](repeating: 0, count: 300_000))
        // A run of one repeated pattern, whose split points recur.
        old.replaceSubrange(900_000..<1_000_000, with: (0..<100_000).map { UInt8(truncatingIfNeeded: $0 % 7) })
        var new = old
        for i in stride(from: 1_000, to: new.count, by: 97_001) { new[i] ^= 0x5A }
        new.insert(contentsOf: (0..<5_000).map { _ in UInt8.random(in: 0...255, using: &rng) }, at: 650_000)
        new.removeSubrange(1_100_000..<1_120_000)
        return (old, new)
    }

    func testChunksEqualTheInMemoryOnes() throws {
        for seed: UInt64 in [1, 2] {
            let (old, new) = sample(seed)
            for bytes in [old, new] {
                let expected = bytes.withUnsafeBufferPointer { Rollsum.chunks($0) }
                XCTAssertEqual(try Rollsum.chunks(Rollsum.BlockReader(bytes)), expected)
            }
        }
    }

    func testMatchesEqualTheInMemoryOnes() throws {
        let (old, new) = sample(3)
        let expected = Rollsum.match(old: old, new: new)
        let streamed = try Rollsum.match(old: old as RandomAccessBytes, new: new as RandomAccessBytes)
        XCTAssertEqual(streamed.matches, expected.matches)
        XCTAssertEqual(streamed.matchedBytes, expected.matchedBytes)
        XCTAssertEqual(streamed.totalChunks, expected.totalChunks)
        XCTAssertGreaterThan(expected.matchedChunks, 0)
    }

    /// Through a file-backed buffer, where the blocks are read with pread.
    func testMatchesThroughSpilledBuffers() throws {
        let (old, new) = sample(4)
        func spilled(_ bytes: [UInt8]) throws -> PayloadBuffer {
            let buffer = PayloadBuffer(memoryLimit: 0, spillDirectory: NSTemporaryDirectory())
            try bytes.withUnsafeBufferPointer { try buffer.append($0) }
            try buffer.finish()
            return buffer
        }
        let streamed = try Rollsum.match(old: try spilled(old), new: try spilled(new))
        XCTAssertEqual(streamed.matches, Rollsum.match(old: old, new: new).matches)
    }
}
