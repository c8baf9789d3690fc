/// The subset of GVariant types that OSTree's delta formats use.
public indirect enum GVariantType: Equatable, Sendable {
    case byte, boolean, uint32, uint64, string, variant
    case array(GVariantType)
    case tuple([GVariantType])
    case dictEntry(GVariantType, GVariantType)

    public static let bytes = GVariantType.array(.byte)
    public static let vardict = GVariantType.array(.dictEntry(.string, .variant))

    public var alignment: Int {
        switch self {
        case .byte, .boolean, .string: return 1
        case .uint32: return 4
        case .uint64, .variant: return 8
        case .array(let e): return e.alignment
        case .tuple(let members): return members.map(\.alignment).max() ?? 1
        case .dictEntry(let k, let v): return max(k.alignment, v.alignment)
        }
    }

    /// The serialized size of a fixed-size type, or nil when the size varies.
    public var fixedSize: Int? {
        switch self {
        case .byte, .boolean: return 1
        case .uint32: return 4
        case .uint64: return 8
        case .string, .variant, .array: return nil
        case .tuple(let members): return GVariantType.fixedSize(of: members, alignment: alignment)
        case .dictEntry(let k, let v): return GVariantType.fixedSize(of: [k, v], alignment: alignment)
        }
    }

    private static func fixedSize(of members: [GVariantType], alignment: Int) -> Int? {
        if members.isEmpty { return 1 }  // the unit tuple is one zero byte
        var offset = 0
        for m in members {
            guard let size = m.fixedSize else { return nil }
            offset = offset.aligned(to: m.alignment) + size
        }
        return offset.aligned(to: alignment)
    }

    public var typeString: String {
        switch self {
        case .byte: return "y"
        case .boolean: return "b"
        case .uint32: return "u"
        case .uint64: return "t"
        case .string: return "s"
        case .variant: return "v"
        case .array(let e): return "a" + e.typeString
        case .tuple(let members): return "(" + members.map(\.typeString).joined() + ")"
        case .dictEntry(let k, let v): return "{" + k.typeString + v.typeString + "}"
        }
    }

    /// Parses a complete type string of the supported subset; nil for anything else.
    public init?(typeString: String) {
        var chars = Substring(typeString)
        guard let t = GVariantType.parse(&chars, depth: 0), chars.isEmpty else { return nil }
        self = t
    }

    private static func parse(_ s: inout Substring, depth: Int) -> GVariantType? {
        guard depth < 32, let c = s.popFirst() else { return nil }
        switch c {
        case "y": return .byte
        case "b": return .boolean
        case "u": return .uint32
        case "t": return .uint64
        case "s": return .string
        case "v": return .variant
        case "a":
            guard let e = parse(&s, depth: depth + 1) else { return nil }
            return .array(e)
        case "(":
            var members: [GVariantType] = []
            while let next = s.first, next != ")" {
                guard let m = parse(&s, depth: depth + 1) else { return nil }
                members.append(m)
            }
            guard s.popFirst() == ")" else { return nil }
            return .tuple(members)
        case "{":
            guard let k = parse(&s, depth: depth + 1), let v = parse(&s, depth: depth + 1),
                  s.popFirst() == "}" else { return nil }
            return .dictEntry(k, v)
        default: return nil
        }
    }
}

extension Int {
    @inlinable func aligned(to alignment: Int) -> Int {
        (self + alignment - 1) & ~(alignment - 1)
    }
}

/// GVariant framing offsets are little-endian and their width depends on the container size.
enum FramingOffsets {
    /// The width writers use for a body of `bodySize` bytes followed by `count` offsets.
    static func writerWidth(bodySize: Int, count: Int) -> Int {
        if count == 0 { return 0 }
        for (w, limit) in [(1, 0xFF), (2, 0xFFFF), (4, 0xFFFF_FFFF)] where bodySize + count * w <= limit {
            return w
        }
        return 8
    }

    /// The width readers derive from a container's total size.
    static func readerWidth(containerSize: Int) -> Int {
        switch containerSize {
        case 0: return 0
        case ...0xFF: return 1
        case ...0xFFFF: return 2
        case ...0xFFFF_FFFF: return 4
        default: return 8
        }
    }

    static func append(_ value: Int, width: Int, to out: inout [UInt8]) {
        var v = UInt64(value)
        for _ in 0..<width {
            out.append(UInt8(truncatingIfNeeded: v))
            v >>= 8
        }
    }
}
