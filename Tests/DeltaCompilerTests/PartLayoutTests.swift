import DeltaFormat
import TestUtilities
import XCTest
@testable import DeltaCompiler

/// Part membership is decided from header sizes before encoding; these pin down its rules.
final class PartLayoutTests: XCTestCase {
    private func layout(_ metadata: [Int], _ content: [Int], max: Int = 100) -> [PartLayout.Part] {
        PartLayout(metadataSizes: metadata, contentSizes: content, tableSize: 0, maxChunkSize: max).parts
    }

    func testEverythingFitsInOnePart() {
        XCTAssertEqual(layout([10, 10], [20, 30]), [PartLayout.Part(metadata: 0..<2, content: 0..<2)])
    }

    func testNoObjectsStillGiveOneEmptyPart() {
        XCTAssertEqual(layout([], []), [PartLayout.Part(metadata: 0..<0, content: 0..<0)])
    }

    func testPartsCloseBeforeTheObjectThatWouldOverflowContentFirstMetadataLast() {
        // Content first: 40 + 50 = 90, then 60 does not fit; 60 + 48 does not fit either.
        // Metadata counts 8 bytes of ops each: 48 + 48 = 96 share the last part.
        let parts = layout([40, 40], [40, 50, 60])
        XCTAssertEqual(parts, [PartLayout.Part(metadata: 0..<0, content: 0..<2),
                               PartLayout.Part(metadata: 0..<0, content: 2..<3),
                               PartLayout.Part(metadata: 0..<2, content: 3..<3)])
    }

    func testMetadataSharesTheLastContentPartWhenItFits() {
        XCTAssertEqual(layout([10, 10], [60, 50]), [PartLayout.Part(metadata: 0..<0, content: 0..<1),
                                                    PartLayout.Part(metadata: 0..<2, content: 1..<2)])
    }

    func testEachPartsExpectedSizeIsItsTablesPlusItsObjects() {
        let layout = PartLayout(metadataSizes: [40, 40], contentSizes: [40, 50, 60], tableSize: 4, maxChunkSize: 100)
        XCTAssertEqual(layout.sizes, [4 + 40 + 50, 4 + 60, 4 + 48 + 48])
    }

    func testAnObjectLargerThanTheLimitGetsAPartOfItsOwn() {
        let parts = layout([], [10, 500, 10])
        XCTAssertEqual(parts.map(\.content), [0..<1, 1..<2, 2..<3])
    }

    func testEveryObjectIsInExactlyOnePartInOrder() {
        var rng = SeededGenerator(seed: 11)
        for _ in 0..<200 {
            let metadata = (0..<Int.random(in: 0...20, using: &rng)).map { _ in Int.random(in: 1...60, using: &rng) }
            let content = (0..<Int.random(in: 0...40, using: &rng)).map { _ in Int.random(in: 0...150, using: &rng) }
            let parts = layout(metadata, content)
            XCTAssertEqual(parts.flatMap { Array($0.metadata) }, Array(metadata.indices))
            XCTAssertEqual(parts.flatMap { Array($0.content) }, Array(content.indices))
        }
    }
}
