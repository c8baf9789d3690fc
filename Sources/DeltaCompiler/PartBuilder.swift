import DeltaFormat

/// Accumulates objects for one part: deduplicated mode and xattr tables, the blob and the ops.
struct PartBuilder {
    private(set) var modes: [FileMode] = []
    private var modeIndex: [FileMode: Int] = [:]
    private(set) var xattrSets: [[UInt8]] = []
    private var xattrIndex: [[UInt8]: Int] = [:]
    private var xattrBytes = 0
    private(set) var blob: [UInt8] = []
    private(set) var ops: [UInt8] = []
    private(set) var objects: [ObjectName] = []

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

    private mutating func index(of mode: FileMode) -> Int {
        if let i = modeIndex[mode] { return i }
        modes.append(mode)
        modeIndex[mode] = modes.count - 1
        return modes.count - 1
    }

    private mutating func index(ofXattrs set: [UInt8]) -> Int {
        if let i = xattrIndex[set] { return i }
        xattrSets.append(set)
        xattrIndex[set] = xattrSets.count - 1
        xattrBytes += set.count + 8
        return xattrSets.count - 1
    }
}
