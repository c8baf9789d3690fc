/// A GVariant value of the supported subset, serialized in normal form.
///
/// Integers are written little-endian (host order on every machine we target); the
/// format layer writes the `ostree.endianness` key as `'l'` to match. Fields that
/// OSTree defines as big-endian are byte-swapped by the caller before they get here.
public indirect enum GVariantValue: Sendable {
    case byte(UInt8)
    case boolean(Bool)
    case uint32(UInt32)
    case uint64(UInt64)
    case string(String)
    /// `ay`, kept as one buffer rather than an array of `.byte` values.
    case bytes([UInt8])
    case variant(GVariantValue)
    case array(element: GVariantType, [GVariantValue])
    case tuple([GVariantValue])
    case dictEntry(GVariantValue, GVariantValue)
    /// Bytes that are already a serialized value of `type`, copied verbatim (e.g. a commit object).
    case serialized(GVariantType, [UInt8])

    public var type: GVariantType {
        switch self {
        case .byte: return .byte
        case .boolean: return .boolean
        case .uint32: return .uint32
        case .uint64: return .uint64
        case .string: return .string
        case .bytes: return .bytes
        case .variant: return .variant
        case .array(let e, _): return .array(e)
        case .tuple(let members): return .tuple(members.map(\.type))
        case .dictEntry(let k, let v): return .dictEntry(k.type, v.type)
        case .serialized(let t, _): return t
        }
    }

    /// An `a{sv}` from ordered (key, value) pairs.
    public static func vardict(_ entries: [(String, GVariantValue)]) -> GVariantValue {
        .array(element: .dictEntry(.string, .variant),
               entries.map { .dictEntry(.string($0.0), .variant($0.1)) })
    }

    public func serialized() -> [UInt8] {
        var out = [UInt8]()
        append(to: &out)
        return out
    }

    /// Appends this value to `out`. `out.count` must be the offset of the enclosing
    /// container's start plus a multiple of this value's alignment, which holds
    /// because every container starts at its own (larger or equal) alignment.
    func append(to out: inout [UInt8]) {
        switch self {
        case .byte(let b): out.append(b)
        case .boolean(let b): out.append(b ? 1 : 0)
        case .uint32(let v): withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) }
        case .uint64(let v): withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) }
        case .string(let s):
            out.append(contentsOf: s.utf8)
            out.append(0)
        case .bytes(let b): out.append(contentsOf: b)
        case .serialized(_, let b): out.append(contentsOf: b)
        case .variant(let child):
            child.append(to: &out)
            out.append(0)
            out.append(contentsOf: child.type.typeString.utf8)
        case .array(let element, let items):
            appendArray(element: element, items, to: &out)
        case .tuple(let members):
            appendTuple(members, alignment: type.alignment, fixed: type.fixedSize != nil, to: &out)
        case .dictEntry(let k, let v):
            appendTuple([k, v], alignment: type.alignment, fixed: type.fixedSize != nil, to: &out)
        }
    }

    private func appendArray(element: GVariantType, _ items: [GVariantValue], to out: inout [UInt8]) {
        let start = out.count
        if element.fixedSize != nil {
            for item in items { item.append(to: &out) }
            return
        }
        var ends = [Int]()
        ends.reserveCapacity(items.count)
        for item in items {
            GVariantValue.pad(&out, start: start, to: element.alignment)
            item.append(to: &out)
            ends.append(out.count - start)
        }
        let width = FramingOffsets.writerWidth(bodySize: out.count - start, count: ends.count)
        for e in ends { FramingOffsets.append(e, width: width, to: &out) }
    }

    private func appendTuple(_ members: [GVariantValue], alignment: Int, fixed: Bool, to out: inout [UInt8]) {
        let start = out.count
        if members.isEmpty {
            out.append(0)
            return
        }
        var ends = [Int]()
        for (i, m) in members.enumerated() {
            GVariantValue.pad(&out, start: start, to: m.type.alignment)
            m.append(to: &out)
            if m.type.fixedSize == nil && i != members.count - 1 {
                ends.append(out.count - start)
            }
        }
        if fixed {
            GVariantValue.pad(&out, start: start, to: alignment)
            return
        }
        let width = FramingOffsets.writerWidth(bodySize: out.count - start, count: ends.count)
        for e in ends.reversed() { FramingOffsets.append(e, width: width, to: &out) }
    }

    private static func pad(_ out: inout [UInt8], start: Int, to alignment: Int) {
        let rel = out.count - start
        let padded = rel.aligned(to: alignment)
        if padded > rel { out.append(contentsOf: repeatElement(0, count: padded - rel)) }
    }
}
