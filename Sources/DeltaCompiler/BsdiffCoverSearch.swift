import DeltaFormat
import Foundation

/// Which bsdiff match search makes a modified file's patch (`DeltaOptions.bsdiffSearch`).
public enum BsdiffSearch: String, Sendable, CaseIterable {
    /// The reference bsdiff scan that ostree embeds: patches byte-identical to ostree's.
    case classic
    /// The cover search (`BsdiffCoverSearch`), after the cover selection of HDiffPatch.
    case cover
    /// Both, keeping the patch with the smaller estimated compressed size.
    case both
}

/// The cover search's settings that were tuned on the Debian corpus (docs/benchmarks.md);
/// the ones the issue fixes (5, 2, 511, 4, 46%) are constants of `BsdiffCoverSearch`.
struct CoverTuning: Sendable, Equatable {
    /// A match off the last cover's diagonal is passed over when the diagonal matches all but
    /// this many of its bytes, as the classic scan does with 8: short repeats of code
    /// elsewhere would otherwise break a diagonal that a few diff bytes would carry on.
    var diagonalMargin: Int
    /// A control triple's cost before its seek's bytes.
    var tripleBase: Int
    /// Step 4's threshold, in bytes.
    var minimumSaving: Double
    /// The byte statistics' window, log2 bytes.
    var windowBits: Int

    /// The best of 29 settings tried on the Debian corpus by total delta bytes (docs/benchmarks.md).
    /// A second cover patch per file with other settings won more estimates but made the
    /// delta larger.
    static let standard = CoverTuning(diagonalMargin: 3, tripleBase: 3, minimumSaving: 12, windowBits: 16)
}

/// A run of new bytes that travels as diff bytes against old:
/// new[newPos ..< newPos + length] minus old[oldPos ..< oldPos + length].
struct Cover: Equatable {
    var oldPos: Int
    var newPos: Int
    var length: Int
    /// The diagonal: two covers with the same offset need no seek between them.
    var offset: Int { oldPos - newPos }
    var newEnd: Int { newPos + length }
    var oldEnd: Int { oldPos + length }
}

/// The second bsdiff search. The classic scan keeps any match that beats the old diagonal by
/// 8 bytes and extends it by a fixed rule; this one chooses covers by what they are expected
/// to cost after xz, which pays off where the classic scan keeps chance matches (compressed
/// streams after their first change) and on code that moves by small, varying offsets
/// (docs/encoding.md). It writes the same raw record stream, so stock bspatch applies it, and
/// it reads the same suffix array as the classic scan.
///
/// 1. `search`: scan new for the longest suffix-array match of at least `minimumMatch`
///    bytes, and take it when its length minus its control triple's estimated cost is at
///    least `minimumScore`, unless the previous cover's diagonal matches all but
///    `tuning.diagonalMargin` of the same bytes.
/// 2. `search`: a match on the previous cover's diagonal, within `mergeGap` bytes of it,
///    extends that cover: the gap becomes diff bytes rather than a new triple.
/// 3. `select`: a cover is kept only when its saving (its bytes as literal, minus its diff
///    bytes, minus its triple, each costed from the byte statistics of the patch written so
///    far) is at least `tuning.minimumSaving` bytes.
/// 4. `extend`: each kept cover grows over mismatches in both directions to the length that
///    maximises matches / (length + `extensionSlack`), when that ratio is at least
///    `extensionRatio`.
struct BsdiffCoverSearch<Entry: FixedWidthInteger> {
    static var minimumMatch: Int { 5 }
    static var minimumScore: Int { 2 }
    static var mergeGap: Int { 511 }
    static var extensionSlack: Int { 4 }
    static var extensionRatio: Double { 0.46 }

    let matcher: Bsdiff.Scanner<Entry>
    var tuning = CoverTuning.standard
    var old: UnsafeBufferPointer<UInt8> { matcher.old }
    var new: UnsafeBufferPointer<UInt8> { matcher.new }

    func patch() -> [UInt8] {
        // Selection before extension: a short cover that selection drops would otherwise have
        // taken, by its own extension, bytes its neighbours' extensions could carry.
        var covers = select(search())
        extend(&covers)
        return CoverPatchWriter.write(covers, old: old, new: new)
    }

    /// What a control triple costs after xz, in bytes: its lengths are small and repeat, its
    /// seek costs about its significant bytes. A triple on the last cover's diagonal within
    /// `mergeGap` is free: step 2 merges it.
    func tripleCost(after last: Cover?, _ next: Cover) -> Int {
        guard let last else { return tuning.tripleBase + Self.significantBytes(next.oldPos) }
        if Self.merges(last, next) { return 0 }
        return tuning.tripleBase + Self.significantBytes(next.oldPos - last.oldEnd)
    }

    static func significantBytes(_ x: Int) -> Int {
        let m = UInt64(x.magnitude)
        return m == 0 ? 0 : (64 - m.leadingZeroBitCount + 7) / 8
    }

    /// Steps 1 and 2: exact matches in new order, merged along a diagonal.
    func search() -> [Cover] {
        var covers: [Cover] = []
        var i = 0
        let minimumMatch = Self.minimumMatch
        while i + minimumMatch <= new.count {
            var (length, position) = matcher.search(i)
            if let last = covers.last, position != i + last.offset, length >= minimumMatch {
                let inRange = i + last.offset >= 0 && i + last.offset < old.count
                let same = inRange ? matcher.matchLength(i + last.offset, i) : 0
                // Staying on the last diagonal costs no seek, so it wins when the suffix array's
                // match is longer by at most a triple, or when the diagonal matches all but a
                // margin of that match's bytes.
                if same + tripleCost(after: last, Cover(oldPos: position, newPos: i, length: length)) >= length
                    || length <= matchesOnDiagonal(last.offset, i..<(i + length)) + tuning.diagonalMargin {
                    // Too short an exact run to take here: step on along the diagonal. Its
                    // mismatches are within reach, so this happens a few times in a row at most,
                    // and the scan never creeps through a long match one byte at a time.
                    guard same >= minimumMatch else {
                        i += 1
                        continue
                    }
                    (length, position) = (same, i + last.offset)
                }
            }
            let cover = Cover(oldPos: position, newPos: i, length: length)
            guard length >= minimumMatch, length - tripleCost(after: covers.last, cover) >= Self.minimumScore else {
                i += 1
                continue
            }
            if let last = covers.last, Self.merges(last, cover) {
                covers[covers.count - 1].length = cover.newEnd - last.newPos
            } else {
                covers.append(cover)
            }
            i += length
        }
        return covers
    }

    /// How many of new[range] equal old at `offset`.
    func matchesOnDiagonal(_ offset: Int, _ range: Range<Int>) -> Int {
        let start = max(range.lowerBound, -offset), end = min(range.upperBound, old.count - offset)
        var count = 0
        if start < end {
            for k in start..<end where old[k + offset] == new[k] { count += 1 }
        }
        return count
    }

    /// Step 3: each cover grows backwards up to the previous one, then forwards up to the next.
    func extend(_ covers: inout [Cover]) {
        for k in covers.indices {
            let previousEnd = k > 0 ? covers[k - 1].newEnd : 0
            let back = bestExtension(maximum: min(covers[k].newPos - previousEnd, covers[k].oldPos)) { i in
                (covers[k].oldPos - 1 - i, covers[k].newPos - 1 - i)
            }
            covers[k].oldPos -= back
            covers[k].newPos -= back
            covers[k].length += back
            let nextStart = k + 1 < covers.count ? covers[k + 1].newPos : new.count
            let forward = bestExtension(maximum: min(nextStart - covers[k].newEnd, old.count - covers[k].oldEnd)) { i in
                (covers[k].oldEnd + i, covers[k].newEnd + i)
            }
            covers[k].length += forward
        }
    }

    /// The extension length, at most `maximum`, that maximises matches / (length + slack),
    /// or 0 when that ratio is below `extensionRatio`. `at(i)` is the (old, new) position of
    /// the i-th byte out.
    func bestExtension(maximum: Int, at: (Int) -> (Int, Int)) -> Int {
        let slack = Self.extensionSlack
        var matches = 0, bestMatches = 0, bestLength = 0
        for i in 0..<max(0, maximum) {
            let (o, n) = at(i)
            if old[o] == new[n] { matches += 1 }
            // matches / (i + 1 + slack) > bestMatches / (bestLength + slack), without division.
            if matches * (bestLength + slack) > bestMatches * (i + 1 + slack) {
                bestMatches = matches
                bestLength = i + 1
            }
        }
        guard bestLength > 0, Double(bestMatches) >= Self.extensionRatio * Double(bestLength + slack) else { return 0 }
        return bestLength
    }

    /// Step 4: the covers that save at least `minimumSaving` bytes, merged as step 2 says.
    /// The statistics follow the patch as it would be written: new bytes that no kept cover
    /// takes go in as the extra bytes they become, a kept cover's as its diff bytes. They
    /// start from new's first bytes and as many zero bytes: an xz'd patch is roughly half
    /// zero diff bytes, and with no prior a first cover of zeros would look no cheaper than
    /// the literal it replaces.
    func select(_ covers: [Cover]) -> [Cover] {
        var kept: [Cover] = []
        var model = ByteStatistics(windowBits: tuning.windowBits)
        let prior = min(new.count, model.window / 2)
        for k in 0..<prior { model.add(new[k]); model.add(0) }
        var written = 0  // new bytes the model has seen as they travel
        for cover in covers {
            // Bytes before this cover are extra bytes whether or not it is kept.
            for k in written..<cover.newPos { model.add(new[k]) }
            written = cover.newPos
            var saving = -Double(tripleCost(after: kept.last, cover))
            for k in 0..<cover.length {
                let n = new[cover.newPos + k]
                saving += model.cost(n) - model.cost(n &- old[cover.oldPos + k])
            }
            guard saving >= tuning.minimumSaving else { continue }
            for k in 0..<cover.length { model.add(new[cover.newPos + k] &- old[cover.oldPos + k]) }
            written = cover.newEnd
            // A merged cover's gap was counted as extra bytes, not the diff bytes it becomes:
            // the two cost about the same, as neither matches.
            if let last = kept.last, Self.merges(last, cover) {
                kept[kept.count - 1].length = cover.newEnd - last.newPos
            } else {
                kept.append(cover)
            }
        }
        return kept
    }

    static func merges(_ last: Cover, _ next: Cover) -> Bool {
        last.offset == next.offset && next.newPos - last.newEnd <= mergeGap
    }
}

/// Writes covers, in new order and apart, as bsdiff records (format §7.1): a cover's record
/// holds its diff bytes, then the new bytes up to the next cover as extra bytes, then the seek
/// to the next cover's old position. A record before the first cover has no diff bytes.
enum CoverPatchWriter {
    static func write(_ covers: [Cover], old: UnsafeBufferPointer<UInt8>, new: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        var patch: [UInt8] = []
        patch.reserveCapacity(new.count / 8 + 64)
        guard !new.isEmpty else { return patch }
        var last = Cover(oldPos: 0, newPos: 0, length: 0)
        for next in covers + [Cover(oldPos: covers.last?.oldEnd ?? 0, newPos: new.count, length: 0)] {
            let extra = next.newPos - last.newEnd, seek = next.oldPos - last.oldEnd
            // Nothing to write before a first cover that starts both files.
            if last.length == 0 && extra == 0 && seek == 0 { last = next; continue }
            Bsdiff.appendControl(last.length, to: &patch)
            Bsdiff.appendControl(extra, to: &patch)
            Bsdiff.appendControl(seek, to: &patch)
            for k in 0..<last.length { patch.append(new[last.newPos + k] &- old[last.oldPos + k]) }
            if extra > 0 { patch.append(contentsOf: UnsafeBufferPointer(rebasing: new[last.newEnd..<next.newPos])) }
            last = next
        }
        return patch
    }
}

/// Byte frequencies of the last `window` bytes of patch, as a cost per byte after xz:
/// -log2(p) bits, with every byte value seen once more than it was, so unseen bytes cost
/// 8 bits or more and an empty model costs each byte about one byte.
struct ByteStatistics {
    let window: Int
    private var counts = [Int32](repeating: 0, count: 256)
    private var recent: [UInt8]
    private var head = 0, filled = 0
    private var costs = [Double](repeating: 1, count: 256)
    private var stale = 0

    init(windowBits: Int) {
        window = 1 << windowBits
        recent = [UInt8](repeating: 0, count: window)
    }

    mutating func add(_ byte: UInt8) {
        if filled == window { counts[Int(recent[head])] -= 1 } else { filled += 1 }
        recent[head] = byte
        counts[Int(byte)] += 1
        head = (head + 1) & (window - 1)
        stale += 1
    }

    /// Bytes one `byte` costs. The table is refreshed every 256 bytes added: 256 logarithms
    /// per cover would cost more than the search.
    mutating func cost(_ byte: UInt8) -> Double {
        if stale >= 256 {
            let total = Double(filled + 256)
            for b in 0..<256 { costs[b] = log2(total / Double(counts[b] + 1)) / 8 }
            stale = 0
        }
        return costs[Int(byte)]
    }
}

extension TestHooks {
    #if DEBUG
    /// DELTAGEN_TEST_BSDIFF_SEARCH: classic, cover or both, for tests that need one search's
    /// patches in a delta made by the CLI.
    static var bsdiffSearch: BsdiffSearch? {
        ProcessInfo.processInfo.environment["DELTAGEN_TEST_BSDIFF_SEARCH"].flatMap(BsdiffSearch.init(rawValue:))
    }

    private static let bsdiffTrace: FileHandle? = ProcessInfo.processInfo.environment["DELTAGEN_TEST_BSDIFF_TRACE"]
        .flatMap { path in
            _ = FileManager.default.createFile(atPath: path, contents: nil)
            return FileHandle(forWritingAtPath: path)
        }
    private static let traceLock = NSLock()
    #else
    static var bsdiffSearch: BsdiffSearch? { nil }
    #endif

    /// DELTAGEN_TEST_BSDIFF_TRACE=FILE: one line per file bsdiff'd with both searches, "object
    /// newSize classicEstimate coverEstimate", to measure which files the cover search wins.
    @inline(__always) static func traceBsdiff(_ object: Checksum, newSize: Int, estimates: [Int]?) {
        #if DEBUG
        guard let bsdiffTrace, let estimates else { return }
        let line = "\(object.hex) \(newSize) " + estimates.map(String.init).joined(separator: " ") + "\n"
        traceLock.withLock { bsdiffTrace.write(Data(line.utf8)) }
        #endif
    }
}
