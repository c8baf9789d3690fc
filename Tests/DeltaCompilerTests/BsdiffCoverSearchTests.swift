import DeltaFormat
import TestUtilities
import XCTest
@testable import DeltaCompiler

/// The cover search, step by step on crafted inputs, and its patches through both bspatches.
final class BsdiffCoverSearchTests: XCTestCase {
    private var rng = SeededGenerator(seed: 7)

    private func random(_ n: Int) -> [UInt8] { (0..<n).map { _ in UInt8(truncatingIfNeeded: rng.next()) } }

    /// Bytes that differ from old[range] at every position, so no match runs into them.
    private func unlike(_ old: [UInt8], _ range: Range<Int>) -> [UInt8] { old[range].map { $0 ^ 0xFF } }

    private func covers(_ old: [UInt8], _ new: [UInt8]) -> [Cover] {
        Bsdiff.withCoverSearch(old: old, new: new) { $0.search() }
    }

    // Step 1: a match needs 5 bytes, and its length less its triple's cost must be at least 2.
    // A triple costs `tripleBase` (3) plus its seek's significant bytes.
    func testMatchLengthThreshold() {
        let old = random(70_000)
        func alone(_ range: Range<Int>) -> [UInt8] {
            unlike(old, 0..<20) + Array(old[range]) + unlike(old, range.upperBound..<(range.upperBound + 20))
        }
        // Old position 100 is a one-byte seek, a triple of 4: 6 bytes score 2, 5 bytes 1.
        XCTAssertEqual(covers(old, alone(100..<106)), [Cover(oldPos: 100, newPos: 20, length: 6)])
        XCTAssertEqual(covers(old, alone(100..<105)), [])
        // Old position 1000 is a two-byte seek, a triple of 5: 7 bytes score 2, 6 bytes 1.
        XCTAssertEqual(covers(old, alone(1000..<1007)), [Cover(oldPos: 1000, newPos: 20, length: 7)])
        XCTAssertEqual(covers(old, alone(1000..<1006)), [])
        // On the last cover's diagonal a triple is free, but 4 bytes are still too short.
        func after(_ n: Int) -> [UInt8] {
            Array(old[1000..<1100]) + unlike(old, 1100..<1110) + Array(old[1110..<(1110 + n)]) + unlike(old, (1110 + n)..<(1130 + n))
        }
        XCTAssertEqual(covers(old, after(4)), [Cover(oldPos: 1000, newPos: 0, length: 100)])
        XCTAssertEqual(covers(old, after(5)), [Cover(oldPos: 1000, newPos: 0, length: 115)])
    }

    // A match off the last diagonal is passed over when the diagonal matches all but
    // `diagonalMargin` (3) of its bytes: a few diff bytes carry the diagonal on.
    func testDiagonalIsKeptAgainstNearlyEqualMatchesElsewhere() {
        var old = random(4000)
        var seg = Array(old[1100..<1112])
        for i in [2, 6, 10] { seg[i] ^= 0xFF }
        old.replaceSubrange(3000..<3012, with: seg)  // seg also occurs exactly elsewhere
        let new = Array(old[1000..<1100]) + seg + Array(old[1112..<1200])
        Bsdiff.withCoverSearch(old: old, new: new) { s in
            XCTAssertEqual(s.search(), [Cover(oldPos: 1000, newPos: 0, length: 200)])
            var eager = s
            eager.tuning.diagonalMargin = 0
            // seg's first two bytes are still on the diagonal, which takes them first.
            XCTAssertEqual(eager.search(), [Cover(oldPos: 1000, newPos: 0, length: 102), Cover(oldPos: 3002, newPos: 102, length: 10),
                                            Cover(oldPos: 1112, newPos: 112, length: 88)])
        }
    }

    // Step 2: a match on the previous cover's diagonal within 511 bytes extends that cover.
    func testSameOffsetMergeWithin511Bytes() {
        let old = random(4000)
        func new(gap: Int) -> [UInt8] {
            Array(old[1000..<1100]) + unlike(old, 1100..<(1100 + gap)) + Array(old[(1100 + gap)..<(1200 + gap)])
        }
        XCTAssertEqual(covers(old, new(gap: 50)), [Cover(oldPos: 1000, newPos: 0, length: 250)])
        XCTAssertEqual(covers(old, new(gap: 511)), [Cover(oldPos: 1000, newPos: 0, length: 711)])
        XCTAssertEqual(covers(old, new(gap: 512)), [Cover(oldPos: 1000, newPos: 0, length: 100),
                                                    Cover(oldPos: 1612, newPos: 612, length: 100)])
        // The same match at another offset is a new cover, whatever the gap.
        let moved = Array(old[1000..<1100]) + unlike(old, 1100..<1150) + Array(old[2000..<2100])
        XCTAssertEqual(covers(old, moved), [Cover(oldPos: 1000, newPos: 0, length: 100),
                                            Cover(oldPos: 2000, newPos: 150, length: 100)])
    }

    /// A long exact match elsewhere that the diagonal nearly equals must not make the scan
    /// creep through it a byte at a time, each step comparing the whole match: old is C, B and
    /// B with three bytes changed, new is C and the changed B.
    func testNearlyEqualDiagonalDoesNotMakeTheScanQuadratic() throws {
        let c = random(1000), b = random(200_000)
        var changed = b
        for i in [50_000, 100_000, 150_000] { changed[i] ^= 0xFF }
        let old = c + b + changed, new = c + changed
        let start = Date()
        let found = covers(old, new)
        XCTAssertLessThan(Date().timeIntervalSince(start), 20, "the scan took quadratic time")
        // The diagonal of C carries through B with three diff bytes.
        XCTAssertEqual(found, [Cover(oldPos: 0, newPos: 0, length: new.count)])
        try assertRoundTrip(old, new)
    }

    /// An extension of `pattern` ("m" match, "x" mismatch) forwards from old[0]/new[0].
    private func extensionLength(_ pattern: String) -> Int {
        let old = random(pattern.count)
        let new = zip(old, pattern).map { $1 == "m" ? $0 : $0 ^ 0xFF }
        return Bsdiff.withCoverSearch(old: old, new: new) { s in
            s.bestExtension(maximum: pattern.count) { ($0, $0) }
        }
    }

    // Step 3: the length that maximises matches / (length + 4), kept at a ratio of 46% or more.
    func testExtensionMaximisesMatchRatio() {
        // One mismatch then nine matches: 9 / 14 = 64%.
        XCTAssertEqual(extensionLength("xmmmmmmmmm"), 10)
        // The best ratio stops before a run of mismatches: 8 / 13 beats any longer prefix.
        XCTAssertEqual(extensionLength("xmmmmmmmm" + String(repeating: "x", count: 30)), 9)
        // Alternating bytes: 50 / 104 = 48% is kept, 10 / 24 = 42% is not.
        XCTAssertEqual(extensionLength(String(repeating: "xm", count: 50)), 100)
        XCTAssertEqual(extensionLength(String(repeating: "xm", count: 10)), 0)
        // One match in four never reaches 46%.
        XCTAssertEqual(extensionLength(String(repeating: "xxxm", count: 40)), 0)
    }

    func testExtensionGrowsCoversBothWaysUpToTheirNeighbours() {
        let old = random(4000)
        var new = Array(old[1000..<1200])
        // Bytes 0 and 150 differ, around exact matches 1..<150 and 151..<200.
        new[0] ^= 0xFF
        new[150] ^= 0xFF
        let found = Bsdiff.withCoverSearch(old: old, new: new) { s -> [Cover] in
            var c = [Cover(oldPos: 1001, newPos: 1, length: 149), Cover(oldPos: 1151, newPos: 151, length: 49)]
            s.extend(&c)
            return c
        }
        // A lone mismatch scores 0 / 5 on either side: neither cover takes it.
        XCTAssertEqual(found, [Cover(oldPos: 1001, newPos: 1, length: 149), Cover(oldPos: 1151, newPos: 151, length: 49)])

        // A cover followed by one mismatch and nine matches takes all ten.
        var tail = Array(old[1000..<1100]) + [old[1100] ^ 0xFF] + Array(old[1101..<1110])
        tail += unlike(old, 1110..<1140)
        let grown = Bsdiff.withCoverSearch(old: old, new: tail) { s -> [Cover] in
            var c = [Cover(oldPos: 1000, newPos: 0, length: 100)]
            s.extend(&c)
            return c
        }
        XCTAssertEqual(grown, [Cover(oldPos: 1000, newPos: 0, length: 110)])
    }

    // Step 4: a cover stays only when it saves `minimumSaving` bytes (12) or more after its triple.
    func testSavingRule() {
        let old = random(4000)
        let new = random(300) + Array(old[2000..<2040]) + random(300)
        Bsdiff.withCoverSearch(old: old, new: new) { s in
            // Random literal bytes cost about a byte each and zero diff bytes about an eighth
            // with the prior, so 40 bytes save far more than 12 and 7 bytes save less after a
            // 5-byte triple.
            let long = Cover(oldPos: 2000, newPos: 300, length: 40)
            XCTAssertEqual(s.select([long]), [long])
            XCTAssertEqual(s.select([Cover(oldPos: 2000, newPos: 300, length: 7)]), [])
            // A cover whose bytes mostly differ saves nothing, however long.
            XCTAssertEqual(s.select([Cover(oldPos: 100, newPos: 0, length: 300)]), [])
        }
    }

    private func assertRoundTrip(_ old: [UInt8], _ new: [UInt8], file: StaticString = #filePath, line: UInt = #line) throws {
        let patch = Bsdiff.coverDiff(old: old, new: new)
        XCTAssertEqual(try Bspatch.apply(old: old, patch: patch[...], newSize: new.count), new,
                       "DeltaFormat's bspatch did not rebuild the new file", file: file, line: line)
        let (rebuilt, consumed) = try ReferenceBspatch.apply(old: old, patch: patch, newSize: new.count)
        XCTAssertEqual(rebuilt, new, "the reference bspatch did not rebuild the new file", file: file, line: line)
        XCTAssertEqual(consumed, patch.count, "the patch has trailing bytes", file: file, line: line)
    }

    func testRoundTripOnRandomAndStructuredInputs() throws {
        let data = random(5000)
        try assertRoundTrip([], [])
        try assertRoundTrip([], data)
        try assertRoundTrip(data, [])
        try assertRoundTrip(data, data)
        try assertRoundTrip(data, random(5000))
        try assertRoundTrip([7], [7])
        try assertRoundTrip([1, 2, 3], [3, 2, 1])
        let base = random(20_000)
        try assertRoundTrip(base, random(100) + base)
        try assertRoundTrip(base, Array(base[300...]))
        try assertRoundTrip(base, Array(base[10_000...]) + Array(base[..<10_000]))
        var edited = base
        for i in stride(from: 0, to: edited.count, by: 97) { edited[i] &+= 1 }
        try assertRoundTrip(base, edited)
        // Code-like data: records whose embedded offsets shift by a few bytes, as in a module.
        var oldCode = [UInt8](), newCode = [UInt8]()
        for i in 0..<3000 {
            let op = random(3)
            oldCode += op + [UInt8(truncatingIfNeeded: i), UInt8(truncatingIfNeeded: i >> 8)]
            newCode += op + [UInt8(truncatingIfNeeded: i + 7), UInt8(truncatingIfNeeded: (i + 7) >> 8)]
            if i % 500 == 0 { newCode += random(11) }
        }
        try assertRoundTrip(oldCode, newCode)
        let lines = (1...3000).map { "line \($0) of the file\n" }
        var changed = lines
        changed[100] = "a changed line\n"
        changed.insert("an inserted line\n", at: 2000)
        try assertRoundTrip(Array(lines.joined().utf8), Array(changed.joined().utf8))
        try assertRoundTrip([UInt8](repeating: 0, count: 10_000), [UInt8](repeating: 0, count: 10_001))
        try assertRoundTrip([UInt8](repeating: 0xAB, count: 4096) + random(16), random(16) + [UInt8](repeating: 0xAB, count: 4096))
        // Many seeds of small mutated inputs.
        for _ in 0..<200 {
            let a = random(Int(rng.next() % 600))
            var b = a
            for _ in 0..<Int(rng.next() % 8) where !b.isEmpty {
                let at = Int(rng.next() % UInt64(b.count))
                switch rng.next() % 3 {
                case 0: b[at] &+= 1
                case 1: b.insert(contentsOf: random(Int(rng.next() % 20)), at: at)
                default: b.removeSubrange(at..<min(b.count, at + Int(rng.next() % 20)))
                }
            }
            try assertRoundTrip(a, b)
        }
    }

    /// `.both` gives the classic patch first, which is the one ostree writes, then the cover one.
    func testBothSearchesShareOneCallAndKeepClassicFirst() {
        let old = random(30_000)
        var new = old
        for i in stride(from: 0, to: new.count, by: 501) { new[i] &+= 3 }
        let both = Bsdiff.patches(old: old, new: new, search: .both)
        XCTAssertEqual(both.count, 2)
        XCTAssertEqual(both[0], Bsdiff.diff(old: old, new: new))
        XCTAssertEqual(both[1], Bsdiff.coverDiff(old: old, new: new))
        XCTAssertEqual(Bsdiff.patches(old: old, new: new, search: .classic), [both[0]])
    }
}
