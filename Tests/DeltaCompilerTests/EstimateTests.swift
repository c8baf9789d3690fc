import DeltaFormat
import TestUtilities
import XCTest
@testable import DeltaCompiler

final class EstimateTests: XCTestCase {
    func testSmallInputsAreCompressedWhole() throws {
        var rng = SeededGenerator(seed: 3)
        let text = (0..<300_000).map { _ in UInt8.random(in: 97...100, using: &rng) }
        XCTAssertEqual(ContentEncoder.xzEstimate(text), try XZ.compress(text, preset: 0).count)
    }

    func testLargeInputsAreEstimatedFromSlices() throws {
        var rng = SeededGenerator(seed: 4)
        // Half random, half a short repeated phrase, interleaved in 64 KiB runs, so that
        // every slice sees both kinds.
        var input = [UInt8]()
        let phrase = Array("static delta ".utf8)
        while input.count < 6 << 20 {
            input += (0..<(64 << 10)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            input += (0..<(64 << 10)).map { phrase[$0 % phrase.count] }
        }
        let exact = try XZ.compress(input, preset: 0).count
        let estimate = ContentEncoder.xzEstimate(input)
        XCTAssertEqual(Double(estimate), Double(exact), accuracy: 0.05 * Double(exact))
    }

    func testCompressedStreamsAreRecognisedByTheirMagic() {
        XCTAssertTrue(CompressedStream.isCompressed([0x1F, 0x8B, 0x08, 0x00]))
        XCTAssertTrue(CompressedStream.isCompressed([0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00, 0x00]))
        XCTAssertTrue(CompressedStream.isCompressed([0x28, 0xB5, 0x2F, 0xFD, 0x00]))
        XCTAssertTrue(CompressedStream.isCompressed(Array("BZh91AY".utf8)))
        XCTAssertFalse(CompressedStream.isCompressed(Array("\u{7F}ELF".utf8)))
        XCTAssertFalse(CompressedStream.isCompressed([0x1F]))
        XCTAssertFalse(CompressedStream.isCompressed([]))
    }
}
