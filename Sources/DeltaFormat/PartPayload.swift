/// A content object's ownership and mode as a part's mode table stores them.
public struct FileMode: Hashable, Sendable {
    public var uid: UInt32
    public var gid: UInt32
    public var mode: UInt32

    public init(uid: UInt32, gid: UInt32, mode: UInt32) {
        self.uid = uid
        self.gid = gid
        self.mode = mode
    }

    public var isSymlink: Bool { mode & 0o170000 == 0o120000 }
    public var isRegularFile: Bool { mode & 0o170000 == 0o100000 }
}

/// The decompressed body of one part: `(a(uuu)aa(ayay)ayay)` (format §4.3).
public struct PartPayload: Sendable {
    public static let type = GVariantType(typeString: "(a(uuu)aa(ayay)ayay)")!
    static let xattrSetType = GVariantType(typeString: "a(ayay)")!

    public var modes: [FileMode]
    /// Each entry is one serialized `a(ayay)` xattr set, exactly as the object stores it.
    public var xattrSets: [[UInt8]]
    public var blob: [UInt8]
    public var ops: [UInt8]

    public init(modes: [FileMode] = [], xattrSets: [[UInt8]] = [], blob: [UInt8] = [], ops: [UInt8] = []) {
        self.modes = modes
        self.xattrSets = xattrSets
        self.blob = blob
        self.ops = ops
    }

    /// The serialized payload as consecutive pieces: the tables, the blob and the ops as they
    /// are (no copy of the big buffers), then the framing offsets. Concatenated, they equal
    /// `serialized()`; `XZ.compress(segments:)` takes them as they are.
    public func segments() -> [[UInt8]] {
        let head = PartPayload.head(modes: modes, xattrSets: xattrSets)
        return [head, blob] + PartPayload.tail(modeCount: modes.count, headSize: head.count, blobSize: blob.count, ops: ops)
    }

    /// What comes before the blob: the mode and xattr tables. A part compressed while it
    /// fills writes this first, so its tables must be fixed before its first object.
    public static func head(modes: [FileMode], xattrSets: [[UInt8]]) -> [UInt8] {
        let tables = PartPayload(modes: modes, xattrSets: xattrSets)
        return tables.modeTableValue.serialized() + tables.xattrTableValue.serialized()
    }

    /// What comes after a blob of `blobSize` bytes: the ops, then the framing offsets.
    public static func tail(modeCount: Int, headSize: Int, blobSize: Int, ops: [UInt8]) -> [[UInt8]] {
        // (a(uuu)aa(ayay)ayay) needs no padding: the first member is 4-aligned at offset 0 and
        // the rest are byte-aligned. The offsets of the first three members close the tuple.
        let blobEnd = headSize + blobSize
        let width = FramingOffsets.writerWidth(bodySize: blobEnd + ops.count, count: 3)
        var offsets = [UInt8]()
        for end in [blobEnd, headSize, modeCount * 12] { FramingOffsets.append(end, width: width, to: &offsets) }
        return [ops, offsets]
    }

    public func serialized() -> [UInt8] {
        GVariantValue.tuple([modeTableValue, xattrTableValue, .bytes(blob), .bytes(ops)]).serialized()
    }

    /// uid, gid and mode are big-endian in the mode table whatever the host (format §3.5).
    private var modeTableValue: GVariantValue {
        .array(element: .tuple([.uint32, .uint32, .uint32]), modes.map {
            .tuple([.uint32($0.uid.byteSwapped), .uint32($0.gid.byteSwapped), .uint32($0.mode.byteSwapped)])
        })
    }

    private var xattrTableValue: GVariantValue {
        .array(element: PartPayload.xattrSetType, xattrSets.map { .serialized(PartPayload.xattrSetType, $0) })
    }

    static let modeTableType = GVariantType(typeString: "a(uuu)")!
    static let xattrTableType = GVariantType(typeString: "aa(ayay)")!

    public init(decoding bytes: [UInt8]) throws {
        let m = try GVariantView(bytes, type: PartPayload.type).members()
        modes = try PartPayload.decodeModes(m[0])
        xattrSets = try PartPayload.decodeXattrSets(m[1])
        blob = Array(try m[2].bytes())
        ops = Array(try m[3].bytes())
    }

    static func decodeModes(_ table: GVariantView) throws -> [FileMode] {
        try table.elements().map { entry in
            let f = try entry.members()
            return FileMode(uid: try f[0].uint32().byteSwapped, gid: try f[1].uint32().byteSwapped,
                            mode: try f[2].uint32().byteSwapped)
        }
    }

    static func decodeXattrSets(_ table: GVariantView) throws -> [[UInt8]] {
        try table.elements().map { set in
            for x in try set.elements() {
                let nv = try x.members()
                let name = try nv[0].bytes()
                guard name.last == 0 else { throw DeltaFormatError.malformed("xattr name is not NUL-terminated") }
                _ = try nv[1].bytes()
            }
            return Array(set.rawBytes)
        }
    }
}

/// How a part file's payload is compressed: the first byte of the file.
public enum PartCompression: UInt8, Sendable {
    case uncompressed = 0
    case xz = 0x78  // 'x'
}

/// A part file (or inline part): one compression byte, then the (compressed) payload.
public enum PartFile {
    /// The part file for `payload`, compressed from its segments (no serialized copy).
    public static func encode(payload: PartPayload, settings: XZ.Settings = .parts) throws -> (file: [UInt8], payloadSize: Int) {
        let segments = payload.segments()
        var out: [UInt8] = [PartCompression.xz.rawValue]
        out.append(contentsOf: try XZ.compress(segments: segments, settings: settings))
        return (out, segments.reduce(0) { $0 + $1.count })
    }

    public static func encode(_ payload: [UInt8], preset: UInt32 = XZ.defaultPreset) throws -> [UInt8] {
        var out: [UInt8] = [PartCompression.xz.rawValue]
        out.append(contentsOf: try XZ.compress(payload, preset: preset))
        return out
    }

    /// Decompresses a part file, refusing payloads larger than `maxPayload` bytes.
    public static func decode(_ file: [UInt8], maxPayload: Int) throws -> [UInt8] {
        guard let first = file.first else { throw DeltaFormatError.malformed("empty part file") }
        switch PartCompression(rawValue: first) {
        case .xz:
            return try XZ.decompress(Array(file[1...]), maxOutput: maxPayload)
        case .uncompressed:
            guard file.count - 1 <= maxPayload else { throw DeltaFormatError.malformed("uncompressed part exceeds its declared size") }
            return Array(file[1...])
        case nil:
            throw DeltaFormatError.malformed("invalid compression type \(first)")
        }
    }
}

extension PartFile {
    /// Decodes a part file fed in pieces (its compression byte first), handing the payload
    /// on as it comes and refusing more than `maxPayload` bytes of it.
    public final class Decoder {
        private let maxPayload: UInt64
        private var produced: UInt64 = 0
        private var xz: XZ.StreamDecoder?
        private var compression: PartCompression?

        public init(maxPayload: UInt64) {
            self.maxPayload = maxPayload
        }

        /// Payload bytes produced so far.
        public var payloadSize: UInt64 { produced }

        public func feed(_ bytes: [UInt8], sink: (UnsafeBufferPointer<UInt8>) throws -> Void) throws {
            var rest = bytes[...]
            if compression == nil, let first = rest.first {
                guard let c = PartCompression(rawValue: first) else {
                    throw DeltaFormatError.malformed("invalid compression type \(first)")
                }
                compression = c
                if c == .xz { xz = try XZ.StreamDecoder() }
                rest = rest.dropFirst()
            }
            guard !rest.isEmpty else { return }
            if let xz {
                try xz.feed(Array(rest)) { try emit($0, sink) }
            } else {
                try Array(rest).withUnsafeBufferPointer { try emit($0, sink) }
            }
        }

        public func finish(sink: (UnsafeBufferPointer<UInt8>) throws -> Void) throws {
            guard compression != nil else { throw DeltaFormatError.malformed("empty part file") }
            try xz?.finish { try emit($0, sink) }
        }

        private func emit(_ piece: UnsafeBufferPointer<UInt8>, _ sink: (UnsafeBufferPointer<UInt8>) throws -> Void) throws {
            guard UInt64(piece.count) <= maxPayload - produced else {
                throw DeltaFormatError.compression(compression == .xz
                    ? "xz stream expands past its declared size of \(maxPayload) bytes"
                    : "uncompressed part exceeds its declared size")
            }
            produced += UInt64(piece.count)
            try sink(piece)
        }
    }
}
