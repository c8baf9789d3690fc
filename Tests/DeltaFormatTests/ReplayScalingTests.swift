import Foundation
import XCTest
@testable import DeltaFormat

/// One object built from 100,000 write ops. The replay hashes each write's bytes as they go
/// by, so its work is the bytes the ops name, once: counted here, not timed. (The version
/// that appended to a copy of the object on every write did O(writes × size) work and ran
/// for 12 minutes on a 1.1 GB file.)
final class ReplayScalingTests: XCTestCase {
    /// Counts what the replay reads from the payload.
    private final class CountingBytes: RandomAccessBytes {
        let bytes: [UInt8]
        var reads = 0, bytesRead = 0
        init(_ bytes: [UInt8]) { self.bytes = bytes }
        var count: Int { bytes.count }
        func read(_ range: Range<Int>) throws -> [UInt8] {
            reads += 1
            bytesRead += range.count
            return Array(bytes[range])
        }
    }

    private func replay(writes: Int, size: Int) throws -> (payloadBytes: Int, reads: Int, bytesRead: Int, seconds: Double) {
        let blob = (0..<(writes * size)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let mode = FileMode(uid: 0, gid: 0, mode: 0o100644)
        var ops = [UInt8]()
        Instruction.open(modeIndex: 0, xattrIndex: 0, size: UInt64(blob.count)).append(to: &ops)
        for i in 0..<writes { Instruction.write(size: UInt64(size), offset: UInt64(i * size)).append(to: &ops) }
        Instruction.close.append(to: &ops)
        let checksum = ContentObjectHeader.checksum(mode: mode, symlinkTarget: nil, xattrs: [], content: blob)
        let payload = CountingBytes(PartPayload(modes: [mode], xattrSets: [[]], blob: blob, ops: ops).serialized())
        let index = try PartPayloadIndex(payload)
        let framing = (payload.reads, payload.bytesRead)
        var rebuilt: [ObjectName] = []
        let started = Date()
        try PartReplay.run(index, objects: [ObjectName(checksum, .file)], sources: { _ in nil },
                           written: { rebuilt.append($0.object) })
        XCTAssertEqual(rebuilt, [ObjectName(checksum, .file)])
        return (blob.count, payload.reads - framing.0, payload.bytesRead - framing.1, Date().timeIntervalSince(started))
    }

    func testReplayWorkIsLinearInTheWriteOps() throws {
        let small = try replay(writes: 10_000, size: 64)
        let large = try replay(writes: 100_000, size: 64)
        // Each write reads its own bytes once, and nothing else is read.
        XCTAssertEqual(small.reads, 10_000)
        XCTAssertEqual(small.bytesRead, small.payloadBytes)
        XCTAssertEqual(large.reads, 100_000)
        XCTAssertEqual(large.bytesRead, large.payloadBytes)
        print("replay of 10,000 writes: \(small.seconds) s; of 100,000 writes: \(large.seconds) s")
    }
}
