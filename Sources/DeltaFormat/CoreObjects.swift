/// The parts of an ostree commit object a delta needs: `(a{sv}aya(say)sstayay)`.
public struct CommitObject: Sendable {
    public var parent: Checksum?
    public var subject: String
    /// Commit time in Unix seconds (stored big-endian).
    public var timestamp: UInt64
    public var rootTree: Checksum
    public var rootMeta: Checksum

    public init(decoding bytes: [UInt8]) throws {
        let m = try GVariantView(bytes, type: Superblock.commitType).members()
        let parentBytes = try m[1].bytes()
        parent = parentBytes.isEmpty ? nil : Checksum(bytes: parentBytes)
        subject = try m[3].string()
        timestamp = try m[5].uint64().byteSwapped
        guard let tree = Checksum(bytes: try m[6].bytes()), let meta = Checksum(bytes: try m[7].bytes()) else {
            throw DeltaFormatError.malformed("commit has an invalid root checksum")
        }
        rootTree = tree
        rootMeta = meta
    }
}

/// A directory listing object: `(a(say)a(sayay))`.
public struct DirTreeObject: Sendable {
    public static let type = GVariantType(typeString: "(a(say)a(sayay))")!

    public struct File: Sendable {
        public var name: String
        public var checksum: Checksum
    }

    public struct Directory: Sendable {
        public var name: String
        public var tree: Checksum
        public var meta: Checksum
    }

    public var files: [File]
    public var directories: [Directory]

    public init(decoding bytes: [UInt8]) throws {
        let m = try GVariantView(bytes, type: DirTreeObject.type).members()
        files = try m[0].elements().map { e in
            let f = try e.members()
            guard let c = Checksum(bytes: try f[1].bytes()) else { throw DeltaFormatError.malformed("dirtree file checksum") }
            let name = try f[0].string()
            try DirTreeObject.validate(name)
            return File(name: name, checksum: c)
        }
        directories = try m[1].elements().map { e in
            let f = try e.members()
            guard let t = Checksum(bytes: try f[1].bytes()), let mm = Checksum(bytes: try f[2].bytes()) else {
                throw DeltaFormatError.malformed("dirtree directory checksum")
            }
            let name = try f[0].string()
            try DirTreeObject.validate(name)
            return Directory(name: name, tree: t, meta: mm)
        }
    }

    /// Names are single path components, as ostree requires; anything else would escape the tree.
    static func validate(_ name: String) throws {
        guard !name.isEmpty, name != ".", name != "..", !name.contains("/") else {
            throw DeltaFormatError.malformed("dirtree has an invalid file name")
        }
    }
}

/// The header ostree hashes in front of a content object's bytes: `(uuuusa(ayay))`.
public enum ContentObjectHeader {
    public static let type = GVariantType(typeString: "(uuuusa(ayay))")!

    /// uid, gid and mode big-endian, rdev 0, the symlink target (or ""), then the xattr set.
    public static func serialize(mode: FileMode, symlinkTarget: String?, xattrs: [UInt8]) -> [UInt8] {
        GVariantValue.tuple([
            .uint32(mode.uid.byteSwapped), .uint32(mode.gid.byteSwapped), .uint32(mode.mode.byteSwapped),
            .uint32(0), .string(symlinkTarget ?? ""),
            .serialized(PartPayload.xattrSetType, xattrs),
        ]).serialized()
    }

    /// Size of ostree's object stream (8-byte length prefix, header, content) that the
    /// fallback threshold is compared with (format §6).
    public static func streamSize(mode: FileMode, symlinkTarget: String?, xattrs: [UInt8], contentSize: UInt64) -> UInt64 {
        8 + UInt64(serialize(mode: mode, symlinkTarget: symlinkTarget, xattrs: xattrs).count) + contentSize
    }

    /// The content checksum ostree gives a file: SHA-256 over the framed header and the bytes.
    public static func checksum(mode: FileMode, symlinkTarget: String?, xattrs: [UInt8], content: [UInt8]) -> Checksum {
        let hasher = self.hasher(mode: mode, symlinkTarget: symlinkTarget, xattrs: xattrs)
        if symlinkTarget == nil { hasher.update(content) }
        return hasher.finish()
    }

    /// A hasher that has taken the framed header: a regular file's content bytes follow,
    /// in any number of updates; a symlink's checksum is the header's alone.
    public static func hasher(mode: FileMode, symlinkTarget: String?, xattrs: [UInt8]) -> SHA256Hasher {
        let header = serialize(mode: mode, symlinkTarget: symlinkTarget, xattrs: xattrs)
        let hasher = SHA256Hasher()
        let length = UInt32(header.count).bigEndian
        hasher.update(withUnsafeBytes(of: length) { Array($0) } + [0, 0, 0, 0])
        hasher.update(header)
        return hasher
    }
}
