/// One entry of the superblock's part list: `(uayttay)` (format §3.3).
public struct PartHeader: Equatable, Sendable {
    public var version: UInt32 = 0
    public var checksum: Checksum
    /// Byte length of the part file.
    public var size: UInt64
    /// Byte length of the decompressed payload.
    public var uncompressedSize: UInt64
    /// The objects the part's ops create, in the order they consume them.
    public var objects: [ObjectName]

    public init(checksum: Checksum, size: UInt64, uncompressedSize: UInt64, objects: [ObjectName]) {
        self.checksum = checksum
        self.size = size
        self.uncompressedSize = uncompressedSize
        self.objects = objects
    }
}

/// A content object the client fetches loose instead of from a part: `(yaytt)` (format §3.4).
public struct FallbackEntry: Equatable, Sendable {
    public var object: ObjectName
    public var compressedSize: UInt64
    public var uncompressedSize: UInt64

    public init(object: ObjectName, compressedSize: UInt64, uncompressedSize: UInt64) {
        self.object = object
        self.compressedSize = compressedSize
        self.uncompressedSize = uncompressedSize
    }
}

/// The superblock: `(a{sv}tayay(a{sv}aya(say)sstayay)aya(uayttay)a(yaytt))` (format §3.1).
public struct Superblock: Sendable {
    public static let type = GVariantType(typeString: "(a{sv}tayay(a{sv}aya(say)sstayay)aya(uayttay)a(yaytt))")!
    public static let commitType = GVariantType(typeString: "(a{sv}aya(say)sstayay)")!
    static let partHeaderType = GVariantType(typeString: "(uayttay)")!
    static let fallbackType = GVariantType(typeString: "(yaytt)")!
    public static let signedMagic: UInt64 = 0x4F53_5453_474E_4454  // "OSTSGNDT"
    public static let endiannessKey = "ostree.endianness"

    public var name: DeltaName
    /// Generation time in Unix seconds; stored big-endian.
    public var timestamp: UInt64
    /// The to commit object, byte for byte as the repo stores it.
    public var commit: [UInt8]
    /// Serialized `a{sv}` of the commit's detached metadata, when it has any.
    public var commitMetadata: [UInt8]?
    /// Part files embedded in the superblock instead of written beside it, by part index.
    public var inlineParts: [[UInt8]]
    public var parts: [PartHeader]
    public var fallbacks: [FallbackEntry]
    /// Whether the host-order fields were written big-endian (`'B'`).
    public var bigEndian: Bool = false

    public init(name: DeltaName, timestamp: UInt64, commit: [UInt8], commitMetadata: [UInt8]? = nil,
                inlineParts: [[UInt8]] = [], parts: [PartHeader], fallbacks: [FallbackEntry]) {
        self.name = name
        self.timestamp = timestamp
        self.commit = commit
        self.commitMetadata = commitMetadata
        self.inlineParts = inlineParts
        self.parts = parts
        self.fallbacks = fallbacks
    }

    /// Metadata in ostree's order: endianness, inline parts, then commitmeta (format §3.2).
    public func serialized() -> [UInt8] {
        var metadata: [(String, GVariantValue)] = [(Superblock.endiannessKey, .byte(UInt8(ascii: "l")))]
        for (i, part) in inlineParts.enumerated() {
            metadata.append(("\(name.relativePath)/\(i)",
                             .tuple([.byte(part[0]), .bytes(Array(part[1...]))])))
        }
        if let commitMetadata {
            metadata.append(("\(name.relativePath)/commitmeta", .serialized(.vardict, commitMetadata)))
        }
        let partList = GVariantValue.array(element: Superblock.partHeaderType, parts.map { p in
            var objects = [UInt8]()
            objects.reserveCapacity(p.objects.count * 33)
            for o in p.objects {
                objects.append(o.type.rawValue)
                objects.append(contentsOf: o.checksum.bytes)
            }
            return .tuple([.uint32(p.version), .bytes(p.checksum.bytes), .uint64(p.size),
                           .uint64(p.uncompressedSize), .bytes(objects)])
        })
        let fallbackList = GVariantValue.array(element: Superblock.fallbackType, fallbacks.map { f in
            .tuple([.byte(f.object.type.rawValue), .bytes(f.object.checksum.bytes),
                    .uint64(f.compressedSize), .uint64(f.uncompressedSize)])
        })
        return GVariantValue.tuple([
            .vardict(metadata),
            .uint64(timestamp.byteSwapped),  // always big-endian
            .bytes(name.from?.bytes ?? []),
            .bytes(name.to.bytes),
            .serialized(Superblock.commitType, commit),
            .bytes([]),
            partList,
            fallbackList,
        ]).serialized()
    }
}
