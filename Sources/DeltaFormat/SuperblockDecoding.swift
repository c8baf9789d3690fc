/// How a superblock labels its host-order fields (format §3.5).
public enum DeltaEndianness: String, Sendable {
    case little, big
    /// No `ostree.endianness` key, or an unknown value: fields are read as written on this host.
    case unknown
}

/// A superblock read back from untrusted bytes.
public struct DecodedSuperblock: Sendable {
    public var superblock: Superblock
    public var signed: Bool
    public var endianness: DeltaEndianness
    public var dependencyCount: Int
    /// Metadata keys in file order, for inspection.
    public var metadataKeys: [String]
}

extension Superblock {
    static let signedType = GVariantType(typeString: "(taya{sv})")!

    /// Parses a `superblock` file: a plain superblock, or a signed envelope around one.
    public static func decode(file bytes: [UInt8]) throws -> DecodedSuperblock {
        if bytes.count >= 8, Array(bytes[0..<8]) == Array("OSTSGNDT".utf8) {
            let m = try GVariantView(bytes, type: signedType).members()
            var decoded = try decode(plain: Array(try m[1].bytes()))
            decoded.signed = try m[2].elements().contains { entry in
                try entry.members()[0].string().hasPrefix("ostree.sign.")
            }
            return decoded
        }
        return try decode(plain: bytes)
    }

    static func decode(plain bytes: [UInt8]) throws -> DecodedSuperblock {
        let m = try GVariantView(bytes, type: Superblock.type).members()
        let fromBytes = try m[2].bytes(), toBytes = try m[3].bytes()
        guard fromBytes.isEmpty || fromBytes.count == 32 else {
            throw DeltaFormatError.malformed("from checksum has length \(fromBytes.count), expected 0 or 32")
        }
        guard let to = Checksum(bytes: toBytes) else {
            throw DeltaFormatError.malformed("to checksum has length \(toBytes.count), expected 32")
        }
        let name = DeltaName(from: fromBytes.isEmpty ? nil : Checksum(bytes: fromBytes), to: to)

        var endianness = DeltaEndianness.unknown
        var keys: [String] = []
        var entries: [String: GVariantView] = [:]
        for entry in try m[0].elements() {
            let kv = try entry.members()
            let key = try kv[0].string()
            keys.append(key)
            entries[key] = try kv[1].variant()
        }
        if let e = entries[endiannessKey], e.type == .byte {
            switch try e.byte() {
            case UInt8(ascii: "l"): endianness = .little
            case UInt8(ascii: "B"): endianness = .big
            default: endianness = .unknown
            }
        }
        let swap = endianness == .big
        func host32(_ v: UInt32) -> UInt32 { swap ? v.byteSwapped : v }
        func host64(_ v: UInt64) -> UInt64 { swap ? v.byteSwapped : v }
        // A file's size is an off_t: a size field past Int64.max describes nothing that can
        // exist, and refusing it here keeps every later sum and conversion in range.
        func size(_ v: UInt64, _ what: String) throws -> UInt64 {
            let value = host64(v)
            guard value <= UInt64(Int64.max) else { throw DeltaFormatError.malformed("\(what) of \(value) bytes is out of range") }
            return value
        }

        let parts: [PartHeader] = try m[6].elements().map { p in
            let f = try p.members()
            guard let csum = Checksum(bytes: try f[1].bytes()) else {
                throw DeltaFormatError.malformed("part checksum is not 32 bytes")
            }
            var header = PartHeader(checksum: csum, size: try size(try f[2].uint64(), "a part size"),
                                    uncompressedSize: try size(try f[3].uint64(), "a part's uncompressed size"),
                                    objects: try decodeObjectList(try f[4].bytes()))
            header.version = host32(try f[0].uint32())
            return header
        }
        let fallbacks: [FallbackEntry] = try m[7].elements().map { fb in
            let f = try fb.members()
            guard let type = ObjectType(rawValue: try f[0].byte()) else {
                throw DeltaFormatError.malformed("fallback has an invalid object type")
            }
            guard let csum = Checksum(bytes: try f[1].bytes()) else {
                throw DeltaFormatError.malformed("fallback checksum is not 32 bytes")
            }
            return FallbackEntry(object: ObjectName(csum, type),
                                 compressedSize: try size(try f[2].uint64(), "a fallback's size"),
                                 uncompressedSize: try size(try f[3].uint64(), "a fallback's uncompressed size"))
        }

        var inline: [[UInt8]] = []
        for i in parts.indices {
            guard let v = entries["\(name.relativePath)/\(i)"], v.type == .tuple([.byte, .bytes]) else { break }
            let f = try v.members()
            inline.append([try f[0].byte()] + Array(try f[1].bytes()))
        }
        var commitMetadata: [UInt8]? = nil
        if let cm = entries["\(name.relativePath)/commitmeta"], cm.type == .vardict {
            commitMetadata = Array(cm.rawBytes)
        }

        var sb = Superblock(name: name, timestamp: try m[1].uint64().byteSwapped,
                            commit: Array(m[4].rawBytes), commitMetadata: commitMetadata,
                            inlineParts: inline, parts: parts, fallbacks: fallbacks)
        sb.bigEndian = swap
        let dependencies = try m[5].bytes().count
        return DecodedSuperblock(superblock: sb, signed: false, endianness: endianness,
                                 dependencyCount: dependencies / 64, metadataKeys: keys)
    }

    static func decodeObjectList(_ bytes: ArraySlice<UInt8>) throws -> [ObjectName] {
        guard bytes.count % 33 == 0 else { throw DeltaFormatError.malformed("invalid checksum array length \(bytes.count)") }
        var out: [ObjectName] = []
        out.reserveCapacity(bytes.count / 33)
        var i = bytes.startIndex
        while i < bytes.endIndex {
            guard let type = ObjectType(rawValue: bytes[i]) else {
                throw DeltaFormatError.malformed("invalid object type \(bytes[i]) in part object list")
            }
            out.append(ObjectName(Checksum(bytes: bytes[(i + 1)..<(i + 33)])!, type))
            i += 33
        }
        return out
    }
}
