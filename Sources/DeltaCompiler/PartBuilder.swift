import DeltaFormat

/// Accumulates objects for one part: deduplicated mode and xattr tables, the blob and the ops.
struct PartBuilder {
    private(set) var modes: [FileMode] = []
    private var modeIndex: [FileMode: Int] = [:]
    private(set) var xattrSets: [[UInt8]] = []
    private var xattrIndex: [[UInt8]: Int] = [:]
    private var xattrBytes = 0
    var blob: [UInt8] = []
    var ops: [UInt8] = []
    var objects: [ObjectName] = []

    var isEmpty: Bool { objects.isEmpty }

    /// Uncompressed payload size so far, less a few framing bytes (v2026.3's estimate).
    var estimatedSize: Int { blob.count + ops.count + modes.count * 12 + xattrBytes }

    mutating func addMetadata(_ object: ObjectName, bytes: [UInt8]) {
        let offset = blob.count
        blob.append(contentsOf: bytes)
        Instruction.spliceMetadata(size: UInt64(bytes.count), offset: UInt64(offset)).append(to: &ops)
        objects.append(object)
    }

    /// Adds a whole content object: a regular file's bytes or a symlink's target.
    mutating func addContent(_ checksum: Checksum, mode: FileMode, xattrs: [UInt8], bytes: [UInt8]) {
        let m = index(of: mode)
        let x = index(ofXattrs: xattrs)
        let offset = blob.count
        blob.append(contentsOf: bytes)
        Instruction.spliceContent(modeIndex: UInt64(m), xattrIndex: UInt64(x),
                                  size: UInt64(bytes.count), offset: UInt64(offset)).append(to: &ops)
        objects.append(ObjectName(checksum, .file))
    }

    func payload() -> PartPayload {
        PartPayload(modes: modes, xattrSets: xattrSets, blob: blob, ops: ops)
    }

    mutating func index(of mode: FileMode) -> Int {
        if let i = modeIndex[mode] { return i }
        modes.append(mode)
        modeIndex[mode] = modes.count - 1
        return modes.count - 1
    }

    mutating func index(ofXattrs set: [UInt8]) -> Int {
        if let i = xattrIndex[set] { return i }
        xattrSets.append(set)
        xattrIndex[set] = xattrSets.count - 1
        xattrBytes += set.count + 8
        return xattrSets.count - 1
    }
}

extension PartBuilder {
    /// A file rebuilt from chunks of its predecessor plus literal gaps (format §5.5, rollsum).
    mutating func addRollsum(_ checksum: Checksum, mode: FileMode, xattrs: [UInt8], source: Checksum,
                             new: [UInt8], matches: [Rollsum.Match]) {
        let m = index(of: mode), x = index(ofXattrs: xattrs)
        let sourceOffset = UInt64(blob.count)
        blob.append(contentsOf: source.bytes)
        Instruction.open(modeIndex: UInt64(m), xattrIndex: UInt64(x), size: UInt64(new.count)).append(to: &ops)
        var reading = false
        var cursor = 0
        func literal(_ range: Range<Int>) {
            if reading {
                Instruction.unsetReadSource.append(to: &ops)
                reading = false
            }
            let offset = blob.count
            blob.append(contentsOf: new[range])
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
        let sourceOffset = UInt64(blob.count)
        blob.append(contentsOf: source.bytes)
        Instruction.setReadSource(offset: sourceOffset).append(to: &ops)
        Instruction.open(modeIndex: UInt64(m), xattrIndex: UInt64(x), size: newSize).append(to: &ops)
        let patchOffset = UInt64(blob.count)
        blob.append(contentsOf: patch)
        Instruction.bspatch(offset: patchOffset, length: UInt64(patch.count)).append(to: &ops)
        Instruction.close.append(to: &ops)
        // `c` already dropped the source; ostree emits this anyway and clients expect nothing else.
        Instruction.unsetReadSource.append(to: &ops)
        objects.append(ObjectName(checksum, .file))
    }
}
