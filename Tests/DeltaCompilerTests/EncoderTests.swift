import DeltaFormat
import OSTreeRepo
import TestUtilities
import XCTest
@testable import DeltaCompiler

final class BsdiffTests: XCTestCase {
    private var rng = SeededGenerator(seed: 42)

    private func random(_ n: Int) -> [UInt8] { (0..<n).map { _ in UInt8(truncatingIfNeeded: rng.next()) } }

    private func assertRoundTrip(_ old: [UInt8], _ new: [UInt8], file: StaticString = #filePath, line: UInt = #line) throws {
        let patch = Bsdiff.diff(old: old, new: new)
        let (rebuilt, consumed) = try ReferenceBspatch.apply(old: old, patch: patch, newSize: new.count)
        XCTAssertEqual(rebuilt, new, "bspatch did not rebuild the new file", file: file, line: line)
        XCTAssertEqual(consumed, patch.count, "the patch has trailing bytes", file: file, line: line)
    }

    func testEdgeCases() throws {
        let data = random(5000)
        try assertRoundTrip([], [])
        try assertRoundTrip([], data)          // empty old: everything is extra bytes
        try assertRoundTrip(data, [])          // empty new: empty patch
        XCTAssertEqual(Bsdiff.diff(old: data, new: []), [])
        try assertRoundTrip(data, data)        // identical
        try assertRoundTrip(data, random(5000))  // fully different
        try assertRoundTrip([7], [7])
        try assertRoundTrip([1, 2, 3], [3, 2, 1])
    }

    func testShiftedAndEditedData() throws {
        let base = random(20_000)
        try assertRoundTrip(base, random(100) + base)                       // shifted right
        try assertRoundTrip(base, Array(base[300...]))                      // shifted left
        var edited = base
        for i in stride(from: 0, to: edited.count, by: 997) { edited[i] ^= 0x5A }
        try assertRoundTrip(base, edited)                                   // scattered edits
        try assertRoundTrip(base, Array(base[10_000...]) + Array(base[..<10_000]))  // swapped halves
    }

    func testStructuredData() throws {
        // Text with a few changed lines, like a config or script update.
        let lines = (1...3000).map { "line \($0) of the file\n" }
        var changed = lines
        changed[100] = "a changed line\n"
        changed.insert("an inserted line\n", at: 2000)
        changed.removeLast(10)
        let old = Array(lines.joined().utf8), new = Array(changed.joined().utf8)
        try assertRoundTrip(old, new)
        // Repetitive data stresses the suffix search with long equal runs.
        try assertRoundTrip([UInt8](repeating: 0, count: 10_000), [UInt8](repeating: 0, count: 10_001))
        try assertRoundTrip([UInt8](repeating: 0xAB, count: 4096) + random(16), random(16) + [UInt8](repeating: 0xAB, count: 4096))
    }

    /// The prefix buckets only skip search steps whose outcome the first two bytes decide,
    /// so patches are the same with and without them; small alphabets make long shared
    /// prefixes, crowded buckets, and old's one-byte suffix equal to new's first byte.
    func testPrefixBucketsChangeNoPatch() {
        let size = 40_000
        for alphabet in [2, 3, 16, 256] {
            let letters = (0..<size).map { _ in UInt8(rng.next() % UInt64(alphabet)) }
            var new = letters
            for _ in 0..<200 {
                let at = Int(rng.next() % UInt64(new.count - 64))
                switch rng.next() % 3 {
                case 0: new[at] = UInt8(rng.next() % UInt64(alphabet))
                case 1: new.insert(contentsOf: (0..<Int(rng.next() % 40)).map { _ in UInt8(rng.next() % UInt64(alphabet)) }, at: at)
                default: new.removeSubrange(at..<(at + Int(rng.next() % 40)))
                }
            }
            for (old, newer) in [(letters, new), (letters, Array(new.suffix(5000)) + [letters.last!]), (letters, [letters.last!])] {
                let patches = [false, true].map { buckets in
                    old.withUnsafeBufferPointer { o in newer.withUnsafeBufferPointer { n in Bsdiff.diff(old: o, new: n, prefixBuckets: buckets) } }
                }
                XCTAssertTrue(patches[1] == patches[0], "alphabet \(alphabet), \(newer.count) bytes: the patches differ")
            }
        }
    }

    /// The one exception: old's one-byte suffix, which two bytes cannot place. Here it is the
    /// search's first midpoint (rank n/2: half the suffixes start with 0), and every search
    /// for text starting with its byte meets it.
    func testPrefixBucketsLeaveTheOneByteSuffixToTheSearch() {
        let n = 20_000
        var old = [UInt8](repeating: 0, count: n / 2 - 1) + (0..<(n / 2)).map { _ in UInt8(1 + rng.next() % 2) }
        old.shuffle(using: &rng)
        old.append(1)
        let rank = old.withUnsafeBufferPointer { Bsdiff.PrefixBuckets($0) }.lastByteRank
        XCTAssertEqual(rank, old.count / 2)
        let new = (0..<5000).map { _ in UInt8(1 + rng.next() % 2) }
        let patches = [false, true].map { buckets in
            old.withUnsafeBufferPointer { o in new.withUnsafeBufferPointer { n in Bsdiff.diff(old: o, new: n, prefixBuckets: buckets) } }
        }
        XCTAssertTrue(patches[1] == patches[0], "the patches differ")
    }

    func testPrefixBucketsPlaceEverySuffix() {
        let old = (0..<20_000).map { _ in UInt8(rng.next() % 5) }
        let buckets = old.withUnsafeBufferPointer { Bsdiff.PrefixBuckets($0) }
        // Rank the suffixes the slow way: the empty suffix, then by content.
        let ranked = [old.count] + (0..<old.count).sorted { old[$0...].lexicographicallyPrecedes(old[$1...]) }
        for (rank, position) in ranked.enumerated() where position < old.count {
            if position == old.count - 1 {
                XCTAssertEqual(rank, buckets.lastByteRank)
            } else {
                let prefix = Int(old[position]) << 8 | Int(old[position + 1])
                XCTAssertTrue((Int(buckets.bounds[2 * prefix])..<Int(buckets.bounds[2 * prefix + 1])).contains(rank))
            }
        }
    }

    func testRandomPairs() throws {
        for _ in 0..<40 {
            let old = random(Int(rng.next() % 3000))
            var new = old
            for _ in 0..<(rng.next() % 20) {
                guard !new.isEmpty else { break }
                let at = Int(rng.next() % UInt64(new.count))
                switch rng.next() % 3 {
                case 0: new[at] = UInt8(truncatingIfNeeded: rng.next())
                case 1: new.insert(contentsOf: random(Int(rng.next() % 50)), at: at)
                default: new.removeSubrange(at..<min(new.count, at + Int(rng.next() % 50)))
                }
            }
            try assertRoundTrip(old, new)
        }
    }

    func testControlEncodingIsSignMagnitude() {
        var out = [UInt8]()
        Bsdiff.appendControl(-2, to: &out)
        Bsdiff.appendControl(300, to: &out)
        XCTAssertEqual(out, [2, 0, 0, 0, 0, 0, 0, 0x80, 0x2C, 1, 0, 0, 0, 0, 0, 0])
    }
}

final class RollsumTests: XCTestCase {
    func testChunksCoverTheBufferAndRespectTheMaximum() {
        var rng = SeededGenerator(seed: 7)
        let data = (0..<300_000).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        let chunks = data.withUnsafeBufferPointer { Rollsum.chunks($0) }
        XCTAssertEqual(chunks.first?.offset, 0)
        XCTAssertEqual(chunks.reduce(0) { $0 + $1.length }, data.count)
        for (a, b) in zip(chunks, chunks.dropFirst()) { XCTAssertEqual(a.offset + a.length, b.offset) }
        XCTAssertTrue(chunks.allSatisfy { $0.length <= 32768 && $0.length > 0 })
        XCTAssertGreaterThan(chunks.count, 10)  // ~8 KiB average for random data
        // Zeros never hit a split point: fixed 32 KiB chunks after the first scan.
        let zeros = [UInt8](repeating: 0, count: 100_000)
        XCTAssertEqual(zeros.withUnsafeBufferPointer { Rollsum.chunks($0) }.map(\.length), [32768, 32768, 32768, 1696])
    }

    func testMatchesSurviveAnInsertion() {
        var rng = SeededGenerator(seed: 9)
        let old = (0..<200_000).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        let new = Array(old[..<50_000]) + Array("inserted".utf8) + Array(old[50_000...])
        let r = Rollsum.match(old: old, new: new)
        XCTAssertGreaterThan(r.matchedChunks * 100 / r.totalChunks, 80)
        for m in r.matches {
            XCTAssertEqual(Array(new[m.newOffset..<(m.newOffset + m.length)]), Array(old[m.oldOffset..<(m.oldOffset + m.length)]))
        }
        XCTAssertEqual(r.matches.map(\.newOffset), r.matches.map(\.newOffset).sorted())
        XCTAssertEqual(Rollsum.match(old: old, new: old).matchedBytes, old.count)
    }
}

final class PairingTests: XCTestCase {
    private let a = SHA256Hasher.digest([1]), b = SHA256Hasher.digest([2]), c = SHA256Hasher.digest([3])

    private func header(size: UInt64, mode: UInt32 = 0o100644) -> ContentHeader {
        ContentHeader(uid: 0, gid: 0, mode: mode, size: size, symlinkTarget: nil, xattrs: [])
    }

    func testVersionlessPaths() {
        XCTAssertEqual(PredecessorIndex.versionless("/usr/lib/libfoo.so.1.2.3"), "/usr/lib/libfoo.so.#.#.#")
        XCTAssertEqual(PredecessorIndex.versionless("/usr/lib/modules/6.1.0-30-amd64/x.ko"), "/usr/lib/modules/#.#.#-#-amd#/x.ko")
        XCTAssertEqual(PredecessorIndex.versionless("python3.11"), PredecessorIndex.versionless("python3.12"))
    }

    func testRulesInOrder() {
        let index = PredecessorIndex(files: [("/usr/bin/tool", a), ("/usr/lib/libfoo.so.1.2.3", b), ("/opt/moved/data.bin", c)])
        let sizes: [Checksum: ContentHeader] = [a: header(size: 1000), b: header(size: 5000), c: header(size: 900)]
        let lookup = { (x: Checksum) in sizes[x] }
        XCTAssertEqual(index.predecessor(path: "/usr/bin/tool", size: 9999, header: lookup), a)            // same path
        XCTAssertEqual(index.predecessor(path: "/usr/lib/libfoo.so.1.2.4", size: 5100, header: lookup), b)  // versioned
        XCTAssertEqual(index.predecessor(path: "/srv/data.bin", size: 1000, header: lookup), c)             // moved
        XCTAssertNil(index.predecessor(path: "/srv/data.bin", size: 5000, header: lookup))                  // outside ±30%
        XCTAssertNil(index.predecessor(path: "/usr/bin/tool", size: 0, header: lookup))                     // empty files never pair
    }

    func testSourcesMustBeWorldReadableRegularFiles() {
        let index = PredecessorIndex(files: [("/etc/shadow", a), ("/etc/link", b)])
        let headers: [Checksum: ContentHeader] = [
            a: header(size: 100, mode: 0o100640),
            b: ContentHeader(uid: 0, gid: 0, mode: 0o120777, size: 10, symlinkTarget: "x", xattrs: []),
        ]
        XCTAssertNil(index.predecessor(path: "/etc/shadow", size: 100, header: { headers[$0] }))
        XCTAssertNil(index.predecessor(path: "/etc/link", size: 10, header: { headers[$0] }))
    }

    func testClosestSizeWinsAmongCandidates() {
        let index = PredecessorIndex(files: [("/a/v1/lib.so", a), ("/a/v2/lib.so", b)])
        let headers: [Checksum: ContentHeader] = [a: header(size: 1000), b: header(size: 2000)]
        XCTAssertEqual(index.predecessor(path: "/a/v3/lib.so", size: 1900, header: { headers[$0] }), b)
    }
}

