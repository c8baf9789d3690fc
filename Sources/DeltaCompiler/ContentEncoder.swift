import DeltaFormat
import Dispatch
import Foundation
import OSTreeRepo

/// A new content object with what was decided about it before its bytes are read.
struct PlannedContent {
    var checksum: Checksum
    var path: String
    var header: ContentHeader
    var predecessor: Checksum?
    /// The predecessor's content length, for the memory model.
    var predecessorSize: UInt64 = 0
}

/// How one content object travels in the delta.
enum EncodedContent {
    case literal(Checksum, ContentHeader, [UInt8])
    /// A big file, read from the repository in pieces as its part is compressed.
    case streamedLiteral(Checksum, ContentHeader, BlobStream)
    case rollsum(Checksum, ContentHeader, source: Checksum, new: [UInt8], matches: [Rollsum.Match])
    /// A big modified file, its new content on disk until its part takes the gaps.
    case streamedRollsum(Checksum, ContentHeader, source: Checksum, new: RandomAccessBytes, matches: [Rollsum.Match])
    case bsdiff(Checksum, ContentHeader, source: Checksum, patch: [UInt8])
    case fallback(FallbackEntry)

}

extension PartBuilder {
    /// Appends an encoded object with the ops its encoding needs. Fallbacks travel in the
    /// superblock instead and never reach a part.
    mutating func add(_ encoded: EncodedContent) {
        switch encoded {
        case .literal(let c, let h, let bytes):
            addContent(c, mode: h.fileMode, xattrs: h.xattrs, bytes: bytes)
        case .streamedLiteral(let c, let h, let stream):
            addContent(c, mode: h.fileMode, xattrs: h.xattrs, stream: stream)
        case .rollsum(let c, let h, let source, let new, let matches):
            addRollsum(c, mode: h.fileMode, xattrs: h.xattrs, source: source, new: new, matches: matches)
        case .streamedRollsum(let c, let h, let source, let new, let matches):
            addRollsum(c, mode: h.fileMode, xattrs: h.xattrs, source: source, new: new, matches: matches)
        case .bsdiff(let c, let h, let source, let patch):
            addBsdiff(c, mode: h.fileMode, xattrs: h.xattrs, source: source, newSize: h.size, patch: patch)
        case .fallback:
            preconditionFailure("fallbacks are not part content")
        }
    }
}

/// Reads and encodes content objects on up to `jobs` threads, each with its own repository
/// handle. Results are collected by index, so output never depends on scheduling.
final class ContentEncoder: Sendable {
    let options: DeltaOptions
    let repoPath: String
    /// Handles not in use; a worker takes one for each object, so none is used by two threads.
    private let idleRepos: Monitor<[Repository]>

    init(repoPath: String, options: DeltaOptions) throws {
        self.options = options
        self.repoPath = repoPath
        idleRepos = Monitor(try (0..<max(1, options.jobs)).map { _ in try Repository(path: repoPath) })
    }

    /// Starts encoding `items` on the worker threads; results are collected with `take`, and
    /// each one delivered rings `doorbell`.
    func start(_ items: [PlannedContent], slots: CoreSlots, doorbell: Doorbell) -> EncodingSession {
        EncodingSession(items: items, jobs: options.jobs, slots: slots, streamAbove: options.streamAbove,
                        doorbell: doorbell) { [self] item in
            let repo = idleRepos.withLock { $0.removeLast() }
            defer { idleRepos.withLock { $0.append(repo) } }
            return try encode(item, repo: repo)
        }
    }

    private func encode(_ item: PlannedContent, repo: Repository) throws -> EncodedContent {
        if !item.header.isSymlink && item.header.size > options.streamAbove {
            return try encodeStreaming(item, repo: repo)
        }
        return try encodeInMemory(item, repo: repo)
    }

    func encodeInMemory(_ item: PlannedContent, repo: Repository) throws -> EncodedContent {
        let h = item.header
        let new = try readVerified(item.checksum, repo: repo)
        if h.isSymlink { return .literal(item.checksum, h, new) }
        if let source = item.predecessor {
            let old = try readVerified(source, repo: repo)
            return chooseEncoding(item.checksum, h, source: source, old: old, new: new)
        }
        if let entry = try fallbackCandidate(item, repo: repo), options.fallbackPolicy == .always
            || !ContentEncoder.shipsInPart(xzEstimate: ContentEncoder.xzEstimate(new), stored: entry.compressedSize) {
            return .fallback(entry)
        }
        return .literal(item.checksum, h, new)
    }

    /// The fallback entry of a new file above `--min-fallback-size`; nil below it.
    func fallbackCandidate(_ item: PlannedContent, repo: Repository) throws -> FallbackEntry? {
        let h = item.header
        let streamSize = ContentObjectHeader.streamSize(mode: h.fileMode, symlinkTarget: nil, xattrs: h.xattrs, contentSize: h.size)
        guard options.minFallbackSize > 0 && streamSize > options.minFallbackSize else { return nil }
        let name = ObjectName(item.checksum, .file)
        return FallbackEntry(object: name, compressedSize: try repo.storageSize(of: name), uncompressedSize: h.size)
    }

    /// `--fallback-policy auto`: a big new file goes in a part when xz makes it clearly
    /// smaller (under 90%) than the zlib object a client would fetch instead.
    static func shipsInPart(xzEstimate: Int, stored: UInt64) -> Bool {
        Double(xzEstimate) < 0.9 * Double(stored)
    }

    /// Picks the encoding with the fewest estimated compressed bytes. Estimates use xz at
    /// preset 0 on what each encoding adds to the blob, except for compressed streams (a
    /// gzip'd changelog, say): xz cannot shrink their bytes, only the zero runs a patch
    /// between two of them has, so their estimate is their count of nonzero bytes, without
    /// an xz pass (docs/encoding.md).
    private func chooseEncoding(_ checksum: Checksum, _ h: ContentHeader, source: Checksum,
                                old: [UInt8], new: [UInt8]) -> EncodedContent {
        let incompressible = CompressedStream.isCompressed(new)
        func estimate(_ bytes: [UInt8]) -> Int {
            incompressible ? Bsdiff.nonzeroBytes(bytes) : ContentEncoder.xzEstimate(bytes)
        }
        var best: (encoding: EncodedContent, size: Int)? = nil
        func consider(_ encoding: EncodedContent, size: Int) {
            if best == nil || size < best!.size { best = (encoding, size) }
        }
        let rollsum = options.rollsumEnabled ? Rollsum.match(old: old, new: new) : nil
        if let rollsum, rollsum.matchedBytes == new.count {
            return .rollsum(checksum, h, source: source, new: new, matches: rollsum.matches)
        }
        // A rollsum delta ships its unmatched bytes as they are, so the same eighth rule as for
        // literals (below) applies to them.
        let rollsumBytes = rollsum.map { $0.matchedChunks > 0 ? new.count - $0.matchedBytes : new.count } ?? new.count
        if options.bsdiffEnabled && UInt64(old.count + new.count) <= options.maxBsdiffSize {
            // With two searches, the patch with the smaller estimate; a tie keeps the classic one.
            let patches = Bsdiff.patches(old: old, new: new, search: options.bsdiffSearch)
            let estimates = patches.count == 1 ? nil : patches.map { ($0, estimate($0)) }
            TestHooks.traceBsdiff(checksum, newSize: new.count, estimates: estimates?.map(\.1))
            let scored = estimates?.min { $0.1 < $1.1 }
            let patch = scored?.0 ?? patches[0]
            // A patch is mostly zero bytes, which xz shrinks to almost nothing, so it compresses
            // to little more than its nonzero bytes. When those are under a sixteenth of what
            // the other encodings ship, bsdiff wins without an xz pass (docs/encoding.md).
            if Bsdiff.nonzeroBytes(patch) <= rollsumBytes / 16 { return .bsdiff(checksum, h, source: source, patch: patch) }
            consider(.bsdiff(checksum, h, source: source, patch: patch), size: (scored?.1 ?? estimate(patch)) + 40)
        }
        // When bsdiff is already under an eighth of the unmatched bytes, estimating them is
        // skipped (3.6 s of thread time on the Debian corpus, same bytes).
        if let rollsum, rollsum.matchedChunks > 0,
           best.map({ $0.size > (new.count - rollsum.matchedBytes) / 8 }) ?? true {
            var gaps = [UInt8]()
            var cursor = 0
            for m in rollsum.matches {
                gaps.append(contentsOf: new[cursor..<m.newOffset])
                cursor = m.newOffset + m.length
            }
            gaps.append(contentsOf: new[cursor...])
            consider(.rollsum(checksum, h, source: source, new: new, matches: rollsum.matches),
                     size: estimate(gaps) + 12 * rollsum.matches.count + 40)
        }
        // The literal estimate is a full xz pass over the file, the costliest of the three.
        // Whole files rarely compress below an eighth of their size, so when another encoding
        // is already under that, it is skipped: the same bytes on the Debian corpus and 4 s
        // less CPU (docs/benchmarks.md).
        if let best, best.size <= new.count / 8 { return best.encoding }
        let literal = estimate(new)
        if let best, best.size < literal { return best.encoding }
        return .literal(checksum, h, new)
    }

    /// Slices an estimate of a large input compresses, and their size: 1 MiB in all.
    static let estimateSlices = 8, estimateSliceSize = 128 << 10

    /// xz preset 0's output size for `bytes`. Above 2 MiB it is extrapolated from evenly
    /// spaced slices: python's binary cost 1.5 s of estimates on the critical path, and an
    /// estimate only has to rank encodings that are far apart when it matters.
    static func xzEstimate(_ bytes: [UInt8]) -> Int {
        guard let slices = estimateRanges(count: bytes.count) else {
            return (try? XZ.compress(bytes, preset: 0).count) ?? bytes.count
        }
        var sample = [UInt8]()
        sample.reserveCapacity(estimateSlices * estimateSliceSize)
        for range in slices { sample.append(contentsOf: bytes[range]) }
        return xzEstimate(sample: sample, of: bytes.count)
    }

    /// Where the slices of an input of `count` bytes are; nil if it is estimated whole.
    static func estimateRanges(count: Int) -> [Range<Int>]? {
        guard count > 2 * estimateSlices * estimateSliceSize else { return nil }
        let stride = (count - estimateSliceSize) / (estimateSlices - 1)
        return (0..<estimateSlices).map { ($0 * stride)..<($0 * stride + estimateSliceSize) }
    }

    /// The estimate for `count` bytes from the slices `estimateRanges` names, joined.
    static func xzEstimate(sample: [UInt8], of count: Int) -> Int {
        let sampled = estimateSlices * estimateSliceSize
        let size = (try? XZ.compress(sample, preset: 0).count) ?? sampled
        return Int((Double(size) * Double(count) / Double(sampled)).rounded())
    }

    /// The object's content, checked against its checksum so corrupt sources never reach a delta.
    private func readVerified(_ checksum: Checksum, repo: Repository) throws -> [UInt8] {
        let object: ContentObject
        let bytes: [UInt8]
        do {
            object = try repo.loadContent(checksum)
            bytes = try object.readAll()
        } catch let e as RepositoryError {
            throw WalkError.reading(ObjectName(checksum, .file), in: repo, e)
        }
        let h = object.header
        let actual = ContentObjectHeader.checksum(mode: h.fileMode, symlinkTarget: h.symlinkTarget, xattrs: h.xattrs, content: bytes)
        guard actual == checksum else { throw GenerateError.corruptContent(checksum, actual: actual) }
        return bytes
    }
}

/// Objects being encoded on the worker threads. The consumer requests objects (`request`)
/// and collects them (`take`) in whatever order it needs; `cost` lets it bound how much
/// is in flight.
final class EncodingSession {
    private let items: [PlannedContent]
    private let results: OrderedResults<EncodedContent>
    private let workers: WorkerThreads
    private let streamAbove: UInt64

    init(items: [PlannedContent], jobs: Int, slots: CoreSlots, streamAbove: UInt64, doorbell: Doorbell,
         encode: @escaping @Sendable (PlannedContent) throws -> EncodedContent) {
        self.items = items
        self.streamAbove = streamAbove
        let results = OrderedResults<EncodedContent>(count: items.count, doorbell: doorbell)
        self.results = results
        workers = WorkerThreads(count: jobs, slots: slots) { i in results.put(i, Result { try encode(items[i]) }) }
    }

    /// Memory an object holds while it is encoded: its content, and its predecessor's; a
    /// streamed one holds a piece at a time.
    func cost(_ i: Int) -> UInt64 {
        if items[i].header.size > streamAbove { return 1 << 20 }
        return items[i].header.size * (items[i].predecessor == nil ? 1 : 2)
    }

    /// Queues object `i`, which part `part` holds, for encoding; each object is requested once.
    func request(_ i: Int, part: Int) { workers.enqueue(i, lane: part) }

    /// Result `i` if it is ready (each is taken once), or nil.
    func take(_ i: Int) throws -> EncodedContent? {
        guard let result = results.poll(i) else { return nil }
        return try result.get()
    }

    /// Stops the workers after their current object.
    func stop() { workers.stop() }
}
