import CDivSufSort
import Glibc

/// The bsdiff encoder, producing the raw record stream the client's BSPATCH op reads
/// (format §7.1): no header, no compression, sign-magnitude little-endian controls.
///
/// The match search and scan loop follow the reference bsdiff that ostree embeds, so for
/// the same (old, new) pair the patch bytes equal ostree's. Suffix arrays come from
/// libdivsufsort; any correct suffix sort gives the same array, hence the same patch.
public enum Bsdiff {
    /// Working memory for one diff: the suffix array (one entry per old byte plus one, of 4
    /// bytes below 2 GiB and 8 above), both inputs, and the cover search's patch, which is
    /// held beside the classic one (the caller counts that one) until the smaller is kept.
    public static func workingMemory(oldSize: Int, newSize: Int) -> Int {
        (oldSize < Int32.max ? 4 : 8) * (oldSize + 1) + oldSize + 2 * newSize
    }

    /// The patch's nonzero bytes: a cheap bound on its compressed size, since a patch between
    /// similar files is mostly zero diff bytes.
    public static func nonzeroBytes(_ patch: [UInt8]) -> Int {
        patch.withUnsafeBufferPointer { p in
            var count = 0
            for byte in p where byte != 0 { count += 1 }
            return count
        }
    }

    public static func diff(old: [UInt8], new: [UInt8]) -> [UInt8] {
        old.withUnsafeBufferPointer { o in
            new.withUnsafeBufferPointer { n in diff(old: o, new: n) }
        }
    }

    /// The patches `search` asks for, classic first, from one suffix sort of `old`.
    public static func patches(old: [UInt8], new: [UInt8], search: BsdiffSearch) -> [[UInt8]] {
        old.withUnsafeBufferPointer { o in
            new.withUnsafeBufferPointer { n in patches(old: o, new: n, search: search) }
        }
    }

    /// The cover search's patch alone (`BsdiffCoverSearch`).
    public static func coverDiff(old: [UInt8], new: [UInt8]) -> [UInt8] {
        patches(old: old, new: new, search: .cover)[0]
    }

    static func patches(old: UnsafeBufferPointer<UInt8>, new: UnsafeBufferPointer<UInt8>,
                        search: BsdiffSearch) -> [[UInt8]] {
        func run<Entry: FixedWidthInteger>(_ index: [Entry], _ buckets: PrefixBuckets?) -> [[UInt8]] {
            index.withUnsafeBufferPointer { index in
                let scanner = Scanner(old: old, new: new, index: index, buckets: buckets)
                var out: [[UInt8]] = []
                if search != .cover {
                    var classic = scanner, patch = [UInt8]()
                    patch.reserveCapacity(new.count / 8 + 64)
                    classic.run(into: &patch)
                    out.append(patch)
                }
                if search != .classic { out.append(BsdiffCoverSearch(matcher: scanner).patch()) }
                return out
            }
        }
        if old.count < Int32.max {
            let buckets = old.count >= PrefixBuckets.minimumOldSize ? PrefixBuckets(old) : nil
            return run(suffixArray(old, entry: Int32.self, sort: divsufsort), buckets)
        }
        return run(suffixArray(old, entry: Int64.self, sort: divsufsort64), nil)
    }

    /// The cover search over `old`'s suffix array, for tests that run its steps one by one.
    static func withCoverSearch<T>(old: [UInt8], new: [UInt8], _ body: (BsdiffCoverSearch<Int32>) -> T) -> T {
        old.withUnsafeBufferPointer { o in
            new.withUnsafeBufferPointer { n in
                suffixArray(o, entry: Int32.self, sort: divsufsort).withUnsafeBufferPointer { index in
                    body(BsdiffCoverSearch(matcher: Scanner(old: o, new: n, index: index, buckets: nil)))
                }
            }
        }
    }

    /// `prefixBuckets` forces `PrefixBuckets` on or off, for tests that show they change
    /// nothing; by default they are used from `PrefixBuckets.minimumOldSize` on.
    static func diff(old: UnsafeBufferPointer<UInt8>, new: UnsafeBufferPointer<UInt8>,
                     prefixBuckets: Bool? = nil) -> [UInt8] {
        // 32-bit entries while they can index the file: half the memory, and half the cache
        // lines for the suffix search to touch.
        if old.count < Int32.max {
            let useBuckets = old.count >= 2 && (prefixBuckets ?? (old.count >= PrefixBuckets.minimumOldSize))
            let buckets = useBuckets ? PrefixBuckets(old) : nil
            return diff(old: old, new: new, index: suffixArray(old, entry: Int32.self, sort: divsufsort), buckets: buckets)
        }
        return diff(old: old, new: new, index: suffixArray(old, entry: Int64.self, sort: divsufsort64), buckets: nil)
    }

    /// bsdiff's I: I[0] is the empty suffix, which sorts first; I[1...] is divsufsort's array.
    private static func suffixArray<Entry: FixedWidthInteger>(
        _ old: UnsafeBufferPointer<UInt8>, entry: Entry.Type,
        sort: (UnsafePointer<UInt8>?, UnsafeMutablePointer<Entry>?, Entry) -> Int32
    ) -> [Entry] {
        var suffixes = [Entry](repeating: Entry(old.count), count: old.count + 1)
        if old.count > 0 {
            suffixes.withUnsafeMutableBufferPointer { sa in
                _ = sort(old.baseAddress, sa.baseAddress! + 1, Entry(old.count))
            }
        }
        return suffixes
    }

    private static func diff<Entry: FixedWidthInteger>(old: UnsafeBufferPointer<UInt8>, new: UnsafeBufferPointer<UInt8>,
                                                       index suffixes: [Entry], buckets: PrefixBuckets?) -> [UInt8] {
        var patch = [UInt8]()
        patch.reserveCapacity(new.count / 8 + 64)
        suffixes.withUnsafeBufferPointer { index in
            var scanner = Scanner(old: old, new: new, index: index, buckets: buckets)
            scanner.run(into: &patch)
        }
        return patch
    }

    /// Appends `x` as bsdiff's 8-byte sign-magnitude little-endian integer.
    static func appendControl(_ x: Int, to out: inout [UInt8]) {
        var magnitude = UInt64(x.magnitude)
        for i in 0..<8 {
            var byte = UInt8(truncatingIfNeeded: magnitude)
            if i == 7 && x < 0 { byte |= 0x80 }
            out.append(byte)
            magnitude >>= 8
        }
    }

    /// Where the suffixes starting with each two-byte prefix sit in bsdiff's suffix array.
    ///
    /// The search compares `new` with the suffix at each midpoint of a binary search, about
    /// 23 steps for a 7 MB file. A suffix outside the bucket of new's first two bytes
    /// compares as the bucket bounds say, so those steps are taken without reading the array
    /// or the old file: the same steps, hence the same match and the same patch, in about a
    /// quarter less time per diff of python3.11 (docs/benchmarks.md). Only the one-byte
    /// suffix (old's last byte) is compared as before: two bytes cannot place it.
    struct PrefixBuckets {
        /// Below this the search is short and the table costs more than it saves.
        static let minimumOldSize = 256 << 10
        /// Ranks [start, end) of each prefix p = first << 8 | second, at 2p and 2p + 1.
        let bounds: [Int32]
        /// Rank of the one-byte suffix.
        let lastByteRank: Int

        /// `old` has at least two bytes and fewer than 2 GiB, as the 32-bit ranks need.
        init(_ old: UnsafeBufferPointer<UInt8>) {
            var count = [Int32](repeating: 0, count: 65536)
            for i in 0..<(old.count - 1) { count[Int(old[i]) << 8 | Int(old[i + 1])] += 1 }
            var bounds = [Int32](repeating: 0, count: 2 * 65536)
            var lastByteRank = 0
            var rank: Int32 = 1  // I[0] is the empty suffix
            let last = Int(old[old.count - 1])
            for prefix in 0..<65536 {
                // The one-byte suffix sorts right before the suffixes that start with its byte.
                if prefix == last << 8 {
                    lastByteRank = Int(rank)
                    rank += 1
                }
                bounds[2 * prefix] = rank
                rank += count[prefix]
                bounds[2 * prefix + 1] = rank
            }
            self.bounds = bounds
            self.lastByteRank = lastByteRank
        }
    }

    struct Scanner<Entry: FixedWidthInteger> {
        let old: UnsafeBufferPointer<UInt8>
        let new: UnsafeBufferPointer<UInt8>
        let index: UnsafeBufferPointer<Entry>
        let buckets: PrefixBuckets?

        /// Length of the common prefix of old[oldStart...] and new[newStart...].
        func matchLength(_ oldStart: Int, _ newStart: Int) -> Int {
            var i = 0
            let limit = min(old.count - oldStart, new.count - newStart)
            while i < limit && old[oldStart + i] == new[newStart + i] { i += 1 }
            return i
        }

        /// Binary search of the suffix array for the longest match of new[newStart...].
        func search(_ newStart: Int) -> (length: Int, position: Int) {
            var st = 0, en = old.count
            var bucket: Range<Int>?, lastByteRank = -1
            if let buckets, newStart + 2 <= new.count {
                let prefix = Int(new[newStart]) << 8 | Int(new[newStart + 1])
                bucket = Int(buckets.bounds[2 * prefix])..<Int(buckets.bounds[2 * prefix + 1])
                lastByteRank = buckets.lastByteRank
            }
            while en - st >= 2 {
                let x = st + (en - st) / 2
                // Outside the bucket the first two bytes decide (see PrefixBuckets).
                if let bucket, !bucket.contains(x), x != lastByteRank {
                    if x < bucket.lowerBound { st = x } else { en = x }
                    continue
                }
                let at = Int(index[x])
                let n = min(old.count - at, new.count - newStart)
                if memcmp(old.baseAddress! + at, new.baseAddress! + newStart, n) < 0 {
                    st = x
                } else {
                    en = x
                }
            }
            let a = Int(index[st]), b = Int(index[en])
            let x = matchLength(a, newStart), y = matchLength(b, newStart)
            return x > y ? (x, a) : (y, b)
        }

        mutating func run(into patch: inout [UInt8]) {
            let oldSize = old.count, newSize = new.count
            if newSize == 0 { return }
            var scan = 0, len = 0, pos = 0
            var lastScan = 0, lastPos = 0, lastOffset = 0
            while scan < newSize {
                var oldScore = 0
                scan += len
                var scsc = scan
                while scan < newSize {
                    (len, pos) = search(scan)
                    while scsc < scan + len {
                        if scsc + lastOffset < oldSize && old[scsc + lastOffset] == new[scsc] { oldScore += 1 }
                        scsc += 1
                    }
                    if (len == oldScore && len != 0) || len > oldScore + 8 { break }
                    if scan + lastOffset < oldSize && old[scan + lastOffset] == new[scan] { oldScore -= 1 }
                    scan += 1
                }
                guard len != oldScore || scan == newSize else { continue }

                // Extend the previous match forwards and this one backwards.
                var s = 0, bestForward = 0, lenForward = 0
                var i = 0
                while lastScan + i < scan && lastPos + i < oldSize {
                    if old[lastPos + i] == new[lastScan + i] { s += 1 }
                    i += 1
                    if s * 2 - i > bestForward * 2 - lenForward { bestForward = s; lenForward = i }
                }
                var lenBack = 0
                if scan < newSize {
                    var sb = 0, bestBack = 0
                    i = 1
                    while scan >= lastScan + i && pos >= i {
                        if old[pos - i] == new[scan - i] { sb += 1 }
                        if sb * 2 - i > bestBack * 2 - lenBack { bestBack = sb; lenBack = i }
                        i += 1
                    }
                }
                if lastScan + lenForward > scan - lenBack {
                    let overlap = (lastScan + lenForward) - (scan - lenBack)
                    var so = 0, bestSplit = 0, lenSplit = 0
                    for j in 0..<overlap {
                        if new[lastScan + lenForward - overlap + j] == old[lastPos + lenForward - overlap + j] { so += 1 }
                        if new[scan - lenBack + j] == old[pos - lenBack + j] { so -= 1 }
                        if so > bestSplit { bestSplit = so; lenSplit = j + 1 }
                    }
                    lenForward += lenSplit - overlap
                    lenBack -= lenSplit
                }

                let extraLength = (scan - lenBack) - (lastScan + lenForward)
                appendControl(lenForward, to: &patch)
                appendControl(extraLength, to: &patch)
                appendControl((pos - lenBack) - (lastPos + lenForward), to: &patch)
                for k in 0..<lenForward { patch.append(new[lastScan + k] &- old[lastPos + k]) }
                if extraLength > 0 {
                    patch.append(contentsOf: UnsafeBufferPointer(rebasing: new[(lastScan + lenForward)..<(scan - lenBack)]))
                }
                lastScan = scan - lenBack
                lastPos = pos - lenBack
                lastOffset = pos - scan
            }
        }
    }
}
