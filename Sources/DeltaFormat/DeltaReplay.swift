/// Runs a part's ops in memory, as a client would, and checks that every object it writes
/// has the checksum the part lists for it. Nothing is written anywhere.
///
/// Unlike the client, it is strict: indexes, ranges, sizes and the op/object pairing are all
/// checked, and a part whose ops leave listed objects unwritten is an error.
public struct PartReplay {
    /// Content of a read source (a regular file the client already has), or nil if absent.
    public typealias SourceLookup = (Checksum) throws -> [UInt8]?

    /// The largest object a replay will build, so a hostile size cannot exhaust memory.
    public static let maxObjectSize = 1 << 31

    public struct Written {
        public var object: ObjectName
        /// The bytes of a metadata object (dirtree, dirmeta), kept for the completeness walk.
        public var metadata: [UInt8]?
        /// What ostree counts for usize: a metadata object's length, a file's content length.
        public var size: Int
        public var isSymlink = false
    }

    public static func run(_ payload: PartPayload, objects: [ObjectName], sources: SourceLookup,
                           written: (Written) throws -> Void) throws {
        var decoder = InstructionDecoder(ops: payload.ops, objects: objects)
        let blob = payload.blob
        var next = 0
        var source: (checksum: Checksum, bytes: [UInt8])? = nil
        var open: (object: ObjectName, mode: FileMode, xattrs: [UInt8], size: Int, bytes: [UInt8])? = nil

        func slice(_ offset: UInt64, _ size: UInt64) throws -> ArraySlice<UInt8> {
            guard offset <= UInt64(blob.count), size <= UInt64(blob.count) - offset else {
                throw DeltaFormatError.malformed("invalid offset/length \(offset)/\(size)")
            }
            return blob[Int(offset)..<Int(offset + size)]
        }
        func table(_ m: UInt64, _ x: UInt64) throws -> (FileMode, [UInt8]) {
            guard m < payload.modes.count, x < payload.xattrSets.count else {
                throw DeltaFormatError.malformed("mode or xattr index out of range")
            }
            return (payload.modes[Int(m)], payload.xattrSets[Int(x)])
        }
        func take() throws -> ObjectName {
            guard open == nil else { throw DeltaFormatError.malformed("an object is opened while \(open!.object) is open") }
            guard next < objects.count else { throw DeltaFormatError.malformed("ops write more objects than the part lists") }
            defer { next += 1 }
            return objects[next]
        }
        func finishContent(_ object: ObjectName, _ mode: FileMode, _ xattrs: [UInt8], _ content: ArraySlice<UInt8>) throws {
            guard object.type == .file else { throw DeltaFormatError.malformed("\(object) is written as content") }
            let target: String? = mode.isSymlink ? String(decoding: content, as: UTF8.self) : nil
            guard mode.isSymlink || mode.isRegularFile else { throw DeltaFormatError.malformed("\(object) has an unsupported file type") }
            let actual = ContentObjectHeader.checksum(mode: mode, symlinkTarget: target, xattrs: xattrs,
                                                      content: target == nil ? Array(content) : [])
            guard actual == object.checksum else {
                throw DeltaFormatError.malformed("\(object): op result has checksum \(actual.hex)")
            }
            try written(Written(object: object, metadata: nil, size: content.count, isSymlink: target != nil))
        }

        while let instruction = try decoder.next() {
            switch instruction {
            case .spliceMetadata(let size, let offset):
                let object = try take()
                let bytes = try slice(offset, size)
                guard object.type.isMetadata else { throw DeltaFormatError.malformed("\(object) is written as metadata") }
                let actual = SHA256Hasher.digest(Array(bytes))
                guard actual == object.checksum else {
                    throw DeltaFormatError.malformed("\(object): op result has checksum \(actual.hex)")
                }
                try written(Written(object: object, metadata: Array(bytes), size: bytes.count))
            case .spliceContent(let m, let x, let size, let offset):
                let object = try take()
                let (mode, xattrs) = try table(m, x)
                try finishContent(object, mode, xattrs, try slice(offset, size))
            case .open(let m, let x, let size):
                let object = try take()
                let (mode, xattrs) = try table(m, x)
                guard object.type == .file, mode.isRegularFile else {
                    throw DeltaFormatError.malformed("\(object) is opened but is not a regular file")
                }
                guard size <= UInt64(maxObjectSize) else { throw DeltaFormatError.malformed("\(object) declares \(size) bytes") }
                open = (object, mode, xattrs, Int(size), [])
            case .write(let size, let offset):
                guard var o = open else { throw DeltaFormatError.malformed("write with no open object") }
                guard size <= UInt64(o.size - o.bytes.count) else {
                    throw DeltaFormatError.malformed("\(o.object): writes exceed its declared size")
                }
                if let source {
                    guard offset <= UInt64(source.bytes.count), size <= UInt64(source.bytes.count) - offset else {
                        throw DeltaFormatError.malformed("\(o.object): read past the end of source \(source.checksum.hex)")
                    }
                    o.bytes.append(contentsOf: source.bytes[Int(offset)..<Int(offset + size)])
                } else {
                    o.bytes.append(contentsOf: try slice(offset, size))
                }
                open = o
            case .setReadSource(let offset):
                let checksum = Checksum(bytes: try slice(offset, 32))!
                guard let bytes = try sources(checksum) else {
                    throw DeltaFormatError.malformed("read source \(checksum.hex).file is not in the repository")
                }
                source = (checksum, bytes)
            case .unsetReadSource:
                source = nil
            case .bspatch(let offset, let length):
                guard var o = open, let source else { throw DeltaFormatError.malformed("bspatch needs an open object and a read source") }
                o.bytes = try Bspatch.apply(old: source.bytes, patch: try slice(offset, length), newSize: o.size)
                open = o
            case .close:
                guard let o = open else { throw DeltaFormatError.malformed("close with no open object") }
                guard o.bytes.count == o.size else {
                    throw DeltaFormatError.malformed("\(o.object): \(o.bytes.count) bytes written, \(o.size) declared")
                }
                open = nil
                source = nil
                try finishContent(o.object, o.mode, o.xattrs, o.bytes[...])
            }
        }
        guard open == nil else { throw DeltaFormatError.malformed("\(open!.object) is never closed") }
        guard next == objects.count else {
            throw DeltaFormatError.malformed("ops write \(next) of the \(objects.count) objects the part lists")
        }
    }
}
