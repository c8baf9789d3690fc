import DeltaFormat

/// A piece of a part's blob: bytes in hand, or bytes of a big file that the part's
/// compressor reads in pieces when it gets there, so the file is never held whole.
enum BlobSegment {
    case bytes([UInt8])
    case stream(BlobStream)

    var count: Int {
        switch self {
        case .bytes(let b): return b.count
        case .stream(let s): return s.size
        }
    }
}

/// `size` bytes that `read` hands over in pieces, in order; it throws if the source turns
/// out different (a corrupt object).
final class BlobStream {  // not Sendable: handed to one part's queue through its inbox, read there once
    let size: Int
    let read: (([UInt8]) throws -> Void) throws -> Void
    init(size: Int, read: @escaping (([UInt8]) throws -> Void) throws -> Void) {
        self.size = size
        self.read = read
    }

    /// Bytes `range` of `buffer`, in pieces of 1 MiB.
    static func slice(of buffer: RandomAccessBytes, _ range: Range<Int>) -> BlobStream {
        BlobStream(size: range.count) { emit in try buffer.forEachChunk(in: range) { try emit($0) } }
    }
}

/// Accumulates objects for one part: mode and xattr tables, the blob and the ops.
///
/// The blob is kept as a list of segments that `takeBlobSegments()` hands to a part that is
/// compressed while it fills. Such a part writes its tables before its blob, so it starts
/// from tables that already list every mode and xattr set it will meet (`fixedTables`).
struct PartBuilder {
    private(set) var modes: [FileMode] = []
    private var modeIndex: [FileMode: Int] = [:]
    private(set) var xattrSets: [[UInt8]] = []
    private var xattrIndex: [[UInt8]: Int] = [:]
    private var fixedTables: Bool
    private var blobSegments: [BlobSegment] = []
    private var segmentsTaken = false
    private(set) var blobSize = 0
    var ops: [UInt8] = []
    var objects: [ObjectName] = []

    /// A part whose tables grow as objects arrive.
    init() { fixedTables = false }

    /// A part with fixed tables; adding an object whose mode or xattrs they lack is a bug.
    init(modes: [FileMode], xattrSets: [[UInt8]]) {
        fixedTables = false
        for mode in modes { _ = index(of: mode) }
        for set in xattrSets { _ = index(ofXattrs: set) }
        fixedTables = true
    }

    mutating func addMetadata(_ object: ObjectName, bytes: [UInt8]) {
        let offset = appendToBlob(bytes)
        Instruction.spliceMetadata(size: UInt64(bytes.count), offset: UInt64(offset)).append(to: &ops)
        objects.append(object)
    }

    /// Adds a whole regular file whose bytes are streamed into the part later.
    mutating func addContent(_ checksum: Checksum, mode: FileMode, xattrs: [UInt8], stream: BlobStream) {
        let m = index(of: mode)
        let x = index(ofXattrs: xattrs)
        let offset = appendToBlob(stream)
        Instruction.spliceContent(modeIndex: UInt64(m), xattrIndex: UInt64(x),
                                  size: UInt64(stream.size), offset: UInt64(offset)).append(to: &ops)
        objects.append(ObjectName(checksum, .file))
    }

    /// Appends a streamed piece to the blob and returns where it starts.
    mutating func appendToBlob(_ stream: BlobStream) -> Int {
        let offset = blobSize
        blobSize += stream.size
        blobSegments.append(.stream(stream))
        return offset
    }

    /// Adds a whole content object: a regular file's bytes or a symlink's target.
    mutating func addContent(_ checksum: Checksum, mode: FileMode, xattrs: [UInt8], bytes: [UInt8]) {
        let m = index(of: mode)
        let x = index(ofXattrs: xattrs)
        let offset = appendToBlob(bytes)
        Instruction.spliceContent(modeIndex: UInt64(m), xattrIndex: UInt64(x),
                                  size: UInt64(bytes.count), offset: UInt64(offset)).append(to: &ops)
        objects.append(ObjectName(checksum, .file))
    }

    /// Appends to the blob and returns where the bytes start. Small pieces (source checksums,
    /// short files) are gathered into one segment; large ones are kept as they are, uncopied.
    @discardableResult
    mutating func appendToBlob<C: Collection<UInt8>>(_ bytes: C) -> Int {
        let offset = blobSize
        blobSize += bytes.count
        if bytes.count < 4096, case .bytes(var last)? = blobSegments.last, last.count < 65536 {
            blobSegments.removeLast()
            last.append(contentsOf: bytes)
            blobSegments.append(.bytes(last))
        } else if let whole = bytes as? [UInt8] {
            blobSegments.append(.bytes(whole))
        } else {
            blobSegments.append(.bytes(Array(bytes)))
        }
        return offset
    }

    /// The blob bytes added since the last call, in order.
    mutating func takeBlobSegments() -> [BlobSegment] {
        segmentsTaken = true
        defer { blobSegments = [] }
        return blobSegments
    }

    /// The whole payload, for a part whose blob segments were never taken.
    func payload() -> PartPayload {
        precondition(!segmentsTaken, "the blob was handed to a part stream")
        let blob = blobSegments.flatMap { segment -> [UInt8] in
            guard case .bytes(let b) = segment else { preconditionFailure("a streamed segment in an in-memory payload") }
            return b
        }
        return PartPayload(modes: modes, xattrSets: xattrSets, blob: blob, ops: ops)
    }

    mutating func index(of mode: FileMode) -> Int {
        if let i = modeIndex[mode] { return i }
        precondition(!fixedTables, "mode missing from the part's fixed table")
        modes.append(mode)
        modeIndex[mode] = modes.count - 1
        return modes.count - 1
    }

    mutating func index(ofXattrs set: [UInt8]) -> Int {
        if let i = xattrIndex[set] { return i }
        precondition(!fixedTables, "xattr set missing from the part's fixed table")
        xattrSets.append(set)
        xattrIndex[set] = xattrSets.count - 1
        return xattrSets.count - 1
    }
}

extension PartBuilder {
    /// A file rebuilt from chunks of its predecessor plus literal gaps (format §5.5, rollsum).
    mutating func addRollsum(_ checksum: Checksum, mode: FileMode, xattrs: [UInt8], source: Checksum,
                             new: [UInt8], matches: [Rollsum.Match]) {
        addRollsumOps(checksum, mode: mode, xattrs: xattrs, source: source, newSize: new.count, matches: matches) { builder, range in
            builder.appendToBlob(new[range])
        }
    }

    /// The ops of a rollsum file; `literal(range)` puts bytes `range` of the new file in the
    /// blob and returns their offset.
    private mutating func addRollsumOps(_ checksum: Checksum, mode: FileMode, xattrs: [UInt8], source: Checksum,
                                        newSize: Int, matches: [Rollsum.Match],
                                        literal appendLiteral: (inout PartBuilder, Range<Int>) -> Int) {
        let m = index(of: mode), x = index(ofXattrs: xattrs)
        let sourceOffset = UInt64(appendToBlob(source.bytes))
        Instruction.open(modeIndex: UInt64(m), xattrIndex: UInt64(x), size: UInt64(newSize)).append(to: &ops)
        var reading = false
        var cursor = 0
        func literal(_ range: Range<Int>) {
            if reading {
                Instruction.unsetReadSource.append(to: &ops)
                reading = false
            }
            let offset = appendLiteral(&self, range)
            Instruction.write(size: UInt64(range.count), offset: UInt64(offset)).append(to: &ops)
        }
        for match in matches {
            if match.newOffset > cursor { literal(cursor..<match.newOffset) }
            if !reading {
                Instruction.setReadSource(offset: sourceOffset).append(to: &ops)
                reading = true
            }
            Instruction.write(size: UInt64(match.length), offset: UInt64(match.oldOffset)).append(to: &ops)
            cursor = match.newOffset + match.length
        }
        if reading { Instruction.unsetReadSource.append(to: &ops) }
        reading = false
        if cursor < newSize { literal(cursor..<newSize) }
        Instruction.close.append(to: &ops)
        objects.append(ObjectName(checksum, .file))
    }

    /// A rollsum file whose new content is in `new` (a big file kept on disk): its literal
    /// gaps are streamed from there into the part.
    mutating func addRollsum(_ checksum: Checksum, mode: FileMode, xattrs: [UInt8], source: Checksum,
                             new: RandomAccessBytes, matches: [Rollsum.Match]) {
        addRollsumOps(checksum, mode: mode, xattrs: xattrs, source: source, newSize: new.count, matches: matches) { builder, range in
            builder.appendToBlob(BlobStream.slice(of: new, range))
        }
    }

    /// A file rebuilt by bspatch from its predecessor (format §5.5, bsdiff).
    mutating func addBsdiff(_ checksum: Checksum, mode: FileMode, xattrs: [UInt8], source: Checksum,
                            newSize: UInt64, patch: [UInt8]) {
        let m = index(of: mode), x = index(ofXattrs: xattrs)
        let sourceOffset = UInt64(appendToBlob(source.bytes))
        Instruction.setReadSource(offset: sourceOffset).append(to: &ops)
        Instruction.open(modeIndex: UInt64(m), xattrIndex: UInt64(x), size: newSize).append(to: &ops)
        let patchOffset = UInt64(appendToBlob(patch))
        Instruction.bspatch(offset: patchOffset, length: UInt64(patch.count)).append(to: &ops)
        Instruction.close.append(to: &ops)
        // `c` already dropped the source; ostree emits this anyway and clients expect nothing else.
        Instruction.unsetReadSource.append(to: &ops)
        objects.append(ObjectName(checksum, .file))
    }
}
