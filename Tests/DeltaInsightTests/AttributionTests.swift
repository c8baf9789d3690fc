@testable import DeltaInsight
import DeltaFormat
import XCTest

final class AttributionTests: XCTestCase {
    func testScaleSumsExactlyAndKeepsProportions() {
        XCTAssertEqual(Attribution.scale([1, 1, 1], to: 10), [4, 3, 3])
        XCTAssertEqual(Attribution.scale([3, 1], to: 8), [6, 2])
        XCTAssertEqual(Attribution.scale([0, 0], to: 5), [3, 2])
        XCTAssertEqual(Attribution.scale([], to: 5), [])
        let weights: [UInt64] = [UInt64.max / 4, 7, 1 << 40, 123_456_789]
        XCTAssertEqual(Attribution.scale(weights, to: UInt64(Int64.max)).reduce(0, +), UInt64(Int64.max))
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let w = (0..<Int.random(in: 1...50, using: &rng)).map { _ in UInt64.random(in: 1...1_000_000, using: &rng) }
            let total = UInt64.random(in: 0...100_000_000, using: &rng)
            let s = Attribution.scale(w, to: total)
            XCTAssertEqual(s.reduce(0, +), total)
            // Each share is within one byte of its exact proportion.
            let sum = Double(w.reduce(0, +))
            for (share, weight) in zip(s, w) {
                XCTAssertLessThanOrEqual(abs(Double(share) - Double(total) * Double(weight) / sum), 1.0001)
            }
        }
    }

    func testCompressibleSharesWeighLessThanRandomOnes() throws {
        var rng = SplitMix(seed: 7)
        let random = (0..<20_000).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let zeros = [UInt8](repeating: 0, count: 20_000)
        XCTAssertGreaterThan(try Attribution.weight(of: random), 19_000)
        XCTAssertLessThan(try Attribution.weight(of: zeros), 200)
        XCTAssertEqual(try Attribution.weight(of: []), 1)
    }

    /// Primed with what precedes it, an object costs what it adds: text after similar text
    /// weighs far less than alone; random bytes weigh the same either way.
    func testContextCountsWhatNeighboursShare() throws {
        var rng = SplitMix(seed: 3)
        let words = ["alpha", "beta", "gamma", "delta", "kernel", "module", "option", "value"]
        func text(_ n: Int) -> [UInt8] {
            Array((0..<n).map { _ in words.randomElement(using: &rng)! }.joined(separator: " ").utf8)
        }
        let before = text(20_000), object = Array(before[5_000..<25_000]) + text(200)
        XCTAssertLessThan(try Attribution.weight(of: object, context: before) * 4, try Attribution.weight(of: object))
        let random = (0..<20_000).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let alone = try Attribution.weight(of: random), primed = try Attribution.weight(of: random, context: before)
        XCTAssertLessThan(abs(Double(alone) - Double(primed)) / Double(alone), 0.01)
    }

    /// A part with one object of each encoding: the split names each object's encoding,
    /// source and bytes, and the attributed shares add up to the part file's size.
    func testPartSharesCoverEveryObjectAndSumToThePartSize() throws {
        var rng = SplitMix(seed: 11)
        let meta = Array("a dirtree's bytes".utf8)
        let literal = (0..<30_000).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let streamed = Array(String(repeating: "line of text\n", count: 500).utf8)
        let source = Checksum(bytes: [UInt8](repeating: 0xAB, count: 32))!
        let patch = [UInt8](repeating: 0, count: 400) + [1, 2, 3]
        let objects = (1...5).map { ObjectName(Checksum(bytes: [UInt8](repeating: UInt8($0), count: 32))!, $0 == 1 ? .dirTree : .file) }

        var blob = [UInt8](), ops = [UInt8]()
        func put(_ bytes: [UInt8]) -> UInt64 { defer { blob += bytes }; return UInt64(blob.count) }
        Instruction.spliceMetadata(size: UInt64(meta.count), offset: put(meta)).append(to: &ops)
        Instruction.spliceContent(modeIndex: 0, xattrIndex: 0, size: UInt64(literal.count), offset: put(literal)).append(to: &ops)
        for i: Instruction in [.open(modeIndex: 0, xattrIndex: 0, size: UInt64(streamed.count)),
                               .write(size: UInt64(streamed.count), offset: put(streamed)), .close] { i.append(to: &ops) }
        let sourceAt = put(source.bytes)
        for i: Instruction in [.setReadSource(offset: sourceAt), .open(modeIndex: 0, xattrIndex: 0, size: 5000),
                               .bspatch(offset: put(patch), length: UInt64(patch.count)), .unsetReadSource, .close] { i.append(to: &ops) }
        for i: Instruction in [.open(modeIndex: 0, xattrIndex: 0, size: 100), .setReadSource(offset: sourceAt),
                               .write(size: 100, offset: 0), .unsetReadSource, .close] { i.append(to: &ops) }
        let payload = PartPayload(modes: [FileMode(uid: 0, gid: 0, mode: 0o100644)], xattrSets: [[]], blob: blob, ops: ops)
        let serialized = payload.serialized()
        let index = try PartPayloadIndex(serialized)
        let shares = try PartShares.split(index, objects: objects)

        XCTAssertEqual(shares.map(\.object), objects)
        XCTAssertEqual(shares.map(\.encoding), [.literal, .literal, .literal, .bsdiff, .rollsum])
        XCTAssertEqual(shares.map(\.source), [nil, nil, nil, source, source])
        XCTAssertEqual(shares.map(\.newSize), [UInt64(meta.count), UInt64(literal.count), UInt64(streamed.count), 5000, 100])
        XCTAssertEqual(try shares[1].bytes(in: serialized).prefix(literal.count), literal[...])
        // The read source's checksum belongs to the bsdiff object that set it first.
        XCTAssertEqual(try shares[3].bytes(in: serialized).prefix(32), source.bytes[...])
        // Every op byte is somebody's.
        XCTAssertEqual(shares.reduce(0) { $0 + $1.ops.count }, ops.count)

        let file = try PartFile.encode(payload: payload).file
        let weights = try shares.map {
            try Attribution.weight(of: try $0.bytes(in: serialized), context: try $0.context(in: index, limit: 1 << 16))
        }
        let attributed = Attribution.scale(weights, to: UInt64(file.count))
        XCTAssertEqual(attributed.reduce(0, +), UInt64(file.count))
        // The random literal is nearly all of the part; the repetitive text and the patch are small.
        XCTAssertGreaterThan(Double(attributed[1]) / Double(file.count), 0.9)
        XCTAssertLessThan(attributed[2], 1000)
    }

    func testOpsThatWriteTooFewObjectsAreRefused() throws {
        var ops = [UInt8]()
        Instruction.spliceMetadata(size: 1, offset: 0).append(to: &ops)
        let payload = PartPayload(modes: [], xattrSets: [], blob: [7], ops: ops).serialized()
        let objects = (1...2).map { ObjectName(Checksum(bytes: [UInt8](repeating: UInt8($0), count: 32))!, .dirMeta) }
        XCTAssertThrowsError(try PartShares.split(try PartPayloadIndex(payload), objects: objects))
    }
}

/// A seeded generator, so the tests' random bytes are the same on every run.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
