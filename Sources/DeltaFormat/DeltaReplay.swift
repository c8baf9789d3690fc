/// Runs a part's ops, as a client would, and checks that every object it writes
/// has the checksum the part lists for it. Nothing is written anywhere.
///
/// Unlike the client, it is strict: indexes, ranges, sizes and the op/object pairing are all
/// checked, and a part whose ops leave listed objects unwritten is an error.
public struct PartReplay {
    /// Content of a read source (a regular file the client already has), or nil if absent.
    public typealias SourceLookup = (Checksum) throws -> RandomAccessBytes?

    /// The largest content object a part may declare. Only a bspatch holds one whole.
    public static let maxObjectSize = Int.max / 2
    /// ostree's own bound on a metadata object (OSTREE_MAX_METADATA_SIZE, 128 MiB).
    public static let maxMetadataSize = 128 << 20
    /// A symlink target beyond this is not one any filesystem stores.
    public static let maxSymlinkTarget = 1 << 16

    public struct Written {
        public var object: ObjectName
        /// The bytes of a metadata object (dirtree, dirmeta), kept for the completeness walk.
        public var metadata: [UInt8]?
        /// What ostree counts for usize: a metadata object's length, a file's content length.
        public var size: Int
        public var isSymlink = false
    }

    /// Replays an in-memory payload.
    public static func run(_ payload: PartPayload, objects: [ObjectName], sources: SourceLookup,
                           written: (Written) throws -> Void) throws {
        try run(try PartPayloadIndex(payload.serialized()), objects: objects, sources: sources, written: written)
    }

    /// Replays a payload read in place. Objects are hashed as their bytes go by, never
    /// assembled, so memory does not grow with an object's size or its number of ops; only a
    /// bspatch holds its old and new file, as a client does.
    public static func run(_ payload: PartPayloadIndex, objects: [ObjectName], sources: SourceLookup,
                           written: (Written) throws -> Void) throws {
        var decoder = InstructionDecoder(ops: payload.ops, objects: objects)
        var next = 0
        var source: (checksum: Checksum, bytes: RandomAccessBytes)? = nil
        var open: OpenObject? = nil

        func table(_ m: UInt64, _ x: UInt64) throws -> (FileMode, [UInt8]) {
            guard m < payload.modes.count, x < payload.xattrSets.count else {
                throw DeltaFormatError.malformed("mode or xattr index out of range")
            }
            return (payload.modes[Int(m)], payload.xattrSets[Int(x)])
        }
        func take() throws -> ObjectName {
            if let open { throw DeltaFormatError.malformed("an object is opened while \(open.object) is open") }
            guard next < objects.count else { throw DeltaFormatError.malformed("ops write more objects than the part lists") }
            defer { next += 1 }
            return objects[next]
        }
        func check(_ object: ObjectName, _ actual: Checksum) throws {
            guard actual == object.checksum else {
                throw DeltaFormatError.malformed("\(object): op result has checksum \(actual.hex)")
            }
        }

        while let instruction = try decoder.next() {
            switch instruction {
            case .spliceMetadata(let size, let offset):
                let object = try take()
                guard object.type.isMetadata else { throw DeltaFormatError.malformed("\(object) is written as metadata") }
                guard size <= UInt64(maxMetadataSize) else { throw DeltaFormatError.malformed("\(object) declares \(size) bytes of metadata") }
                let bytes = try payload.bytes.read(try payload.blobRange(offset: offset, size: size))
                try check(object, SHA256Hasher.digest(bytes))
                try written(Written(object: object, metadata: bytes, size: bytes.count))
            case .spliceContent(let m, let x, let size, let offset):
                let object = try take()
                let (mode, xattrs) = try table(m, x)
                let range = try payload.blobRange(offset: offset, size: size)
                guard object.type == .file else { throw DeltaFormatError.malformed("\(object) is written as content") }
                if mode.isSymlink {
                    guard size <= UInt64(maxSymlinkTarget) else { throw DeltaFormatError.malformed("\(object) has a \(size)-byte symlink target") }
                    let target = String(decoding: try payload.bytes.read(range), as: UTF8.self)
                    try check(object, ContentObjectHeader.hasher(mode: mode, symlinkTarget: target, xattrs: xattrs).finish())
                    try written(Written(object: object, metadata: nil, size: range.count, isSymlink: true))
                } else {
                    guard mode.isRegularFile else { throw DeltaFormatError.malformed("\(object) has an unsupported file type") }
                    let hasher = ContentObjectHeader.hasher(mode: mode, symlinkTarget: nil, xattrs: xattrs)
                    try payload.bytes.forEachChunk(in: range) { hasher.update($0) }
                    try check(object, hasher.finish())
                    try written(Written(object: object, metadata: nil, size: range.count))
                }
            case .open(let m, let x, let size):
                let object = try take()
                let (mode, xattrs) = try table(m, x)
                guard object.type == .file, mode.isRegularFile else {
                    throw DeltaFormatError.malformed("\(object) is opened but is not a regular file")
                }
                guard size <= UInt64(maxObjectSize) else { throw DeltaFormatError.malformed("\(object) declares \(size) bytes") }
                open = OpenObject(object: object, size: Int(size),
                                  hasher: ContentObjectHeader.hasher(mode: mode, symlinkTarget: nil, xattrs: xattrs))
            case .write(let size, let offset):
                guard let o = open else { throw DeltaFormatError.malformed("write with no open object") }
                guard size <= UInt64(o.size - o.written) else {
                    throw DeltaFormatError.malformed("\(o.object): writes exceed its declared size")
                }
                if let source {
                    guard offset <= UInt64(source.bytes.count), size <= UInt64(source.bytes.count) - offset else {
                        throw DeltaFormatError.malformed("\(o.object): read past the end of source \(source.checksum.hex)")
                    }
                    try source.bytes.forEachChunk(in: Int(offset)..<Int(offset + size)) { o.hasher.update($0) }
                } else {
                    try payload.bytes.forEachChunk(in: try payload.blobRange(offset: offset, size: size)) { o.hasher.update($0) }
                }
                o.written += Int(size)
            case .setReadSource(let offset):
                let checksum = Checksum(bytes: try payload.bytes.read(try payload.blobRange(offset: offset, size: 32)))!
                guard let bytes = try sources(checksum) else {
                    throw DeltaFormatError.malformed("read source \(checksum.hex).file is not in the repository")
                }
                source = (checksum, bytes)
            case .unsetReadSource:
                source = nil
            case .bspatch(let offset, let length):
                guard let o = open, let source else { throw DeltaFormatError.malformed("bspatch needs an open object and a read source") }
                // A client writes the patch's whole output into the object: nothing may precede it.
                guard o.written == 0 else { throw DeltaFormatError.malformed("\(o.object): bspatch after other writes") }
                let patch = try payload.bytes.read(try payload.blobRange(offset: offset, size: length))
                let new = try Bspatch.apply(old: try source.bytes.read(0..<source.bytes.count), patch: patch[...], newSize: o.size)
                o.hasher.update(new)
                o.written = new.count
            case .close:
                guard let o = open else { throw DeltaFormatError.malformed("close with no open object") }
                guard o.written == o.size else {
                    throw DeltaFormatError.malformed("\(o.object): \(o.written) bytes written, \(o.size) declared")
                }
                open = nil
                source = nil
                try check(o.object, o.hasher.finish())
                try written(Written(object: o.object, metadata: nil, size: o.size))
            }
        }
        if let open { throw DeltaFormatError.malformed("\(open.object) is never closed") }
        guard next == objects.count else {
            throw DeltaFormatError.malformed("ops write \(next) of the \(objects.count) objects the part lists")
        }
    }

    /// The object being written between `open` and `close`: a reference, so each write
    /// updates it in place.
    private final class OpenObject {
        let object: ObjectName
        let size: Int
        let hasher: SHA256Hasher
        var written = 0
        init(object: ObjectName, size: Int, hasher: SHA256Hasher) {
            self.object = object
            self.size = size
            self.hasher = hasher
        }
    }
}
