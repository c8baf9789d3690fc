import DeltaFormat

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
    private var blobSegments: [[UInt8]] = []
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
        if bytes.count < 4096, let last = blobSegments.indices.last, blobSegments[last].count < 65536 {
            blobSegments[last].append(contentsOf: bytes)
        } else if let whole = bytes as? [UInt8] {
            blobSegments.append(whole)
        } else {
            blobSegments.append(Array(bytes))
        }
        return offset
    }

    /// The blob bytes added since the last call, in order.
    mutating func takeBlobSegments() -> [[UInt8]] {
        segmentsTaken = true
        defer { blobSegments = [] }
        return blobSegments
    }

    /// The whole payload, for a part whose blob segments were never taken.
    func payload() -> PartPayload {
        precondition(!segmentsTaken, "the blob was handed to a part stream")
        return PartPayload(modes: modes, xattrSets: xattrSets, blob: blobSegments.flatMap { $0 }, ops: ops)
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
        let m = index(of: mode), x = index(ofXattrs: xattrs)
        let sourceOffset = UInt64(appendToBlob(source.bytes))
        Instruction.open(modeIndex: UInt64(m), xattrIndex: UInt64(x), size: UInt64(new.count)).append(to: &ops)
        var reading = false
        var cursor = 0
        func literal(_ range: Range<Int>) {
            if reading {
                Instruction.unsetReadSource.append(to: &ops)
                reading = false
            }
            let offset = appendToBlob(new[range])
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
        if cursor < new.count { literal(cursor..<new.count) }
        Instruction.close.append(to: &ops)
        objects.append(ObjectName(checksum, .file))
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
