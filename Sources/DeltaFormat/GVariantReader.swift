/// A read-only view of a serialized GVariant of a known type.
///
/// Input is untrusted: every offset is bounds-checked, nothing is allocated beyond
/// what the input's own size allows, and malformed framing throws
/// `DeltaFormatError.malformed` instead of trapping.
public struct GVariantView: Sendable {
    public let type: GVariantType
    let base: [UInt8]
    let range: Range<Int>

    public init(_ bytes: [UInt8], type: GVariantType) {
        self.base = bytes
        self.range = 0..<bytes.count
        self.type = type
    }

    init(base: [UInt8], range: Range<Int>, type: GVariantType) {
        self.base = base
        self.range = range
        self.type = type
    }

    public var size: Int { range.count }
    public var rawBytes: ArraySlice<UInt8> { base[range] }

    // MARK: Scalars

    public func byte() throws -> UInt8 {
        try expectSize(1)
        return base[range.lowerBound]
    }

    public func boolean() throws -> Bool { try byte() != 0 }

    public func uint32() throws -> UInt32 {
        try expectSize(4)
        var v: UInt32 = 0
        for i in (0..<4).reversed() { v = v << 8 | UInt32(base[range.lowerBound + i]) }
        return v
    }

    public func uint64() throws -> UInt64 {
        try expectSize(8)
        var v: UInt64 = 0
        for i in (0..<8).reversed() { v = v << 8 | UInt64(base[range.lowerBound + i]) }
        return v
    }

    public func string() throws -> String {
        guard type == .string, size >= 1, base[range.upperBound - 1] == 0 else {
            throw DeltaFormatError.malformed("string is not NUL-terminated")
        }
        let body = base[range.lowerBound..<(range.upperBound - 1)]
        guard !body.contains(0) else { throw DeltaFormatError.malformed("string has an embedded NUL") }
        return String(decoding: body, as: UTF8.self)
    }

    /// The raw bytes of an `ay`.
    public func bytes() throws -> ArraySlice<UInt8> {
        guard type == .bytes else { throw DeltaFormatError.malformed("expected ay, have \(type.typeString)") }
        return base[range]
    }

    /// The child of a `v`, with the type named inside the variant.
    public func variant() throws -> GVariantView {
        guard type == .variant else { throw DeltaFormatError.malformed("expected v") }
        guard let sep = base[range].lastIndex(of: 0) else {
            throw DeltaFormatError.malformed("variant has no type separator")
        }
        let typeBytes = base[(sep + 1)..<range.upperBound]
        guard let childType = GVariantType(typeString: String(decoding: typeBytes, as: UTF8.self)) else {
            throw DeltaFormatError.malformed("variant holds an unsupported type")
        }
        let child = GVariantView(base: base, range: range.lowerBound..<sep, type: childType)
        if let fixed = childType.fixedSize, fixed != child.size {
            throw DeltaFormatError.malformed("variant child has the wrong size")
        }
        return child
    }

    // MARK: Containers

    /// The members of a tuple or dict entry, in order.
    public func members() throws -> [GVariantView] {
        let memberTypes: [GVariantType]
        switch type {
        case .tuple(let m): memberTypes = m
        case .dictEntry(let k, let v): memberTypes = [k, v]
        default: throw DeltaFormatError.malformed("expected a tuple, have \(type.typeString)")
        }
        if let fixed = type.fixedSize, fixed != size {
            throw DeltaFormatError.malformed("fixed-size tuple \(type.typeString) has size \(size), expected \(fixed)")
        }
        let width = FramingOffsets.readerWidth(containerSize: size)
        let framed = memberTypes.dropLast().filter { $0.fixedSize == nil }.count
        let tableStart = type.fixedSize == nil ? size - framed * width : size
        guard tableStart >= 0 else { throw DeltaFormatError.malformed("tuple framing truncated") }
        var nextOffset = size  // offsets are read from the end: the first variable member's comes last
        var cursor = 0
        var out = [GVariantView]()
        out.reserveCapacity(memberTypes.count)
        for (i, t) in memberTypes.enumerated() {
            let start = cursor.aligned(to: t.alignment)
            let end: Int
            if let fixed = t.fixedSize {
                end = start + fixed
            } else if i == memberTypes.count - 1 {
                end = tableStart
            } else {
                nextOffset -= width
                end = readOffset(at: nextOffset, width: width)
            }
            guard start <= end, end <= tableStart else {
                throw DeltaFormatError.malformed("tuple member \(i) of \(type.typeString) out of bounds")
            }
            out.append(GVariantView(base: base, range: (range.lowerBound + start)..<(range.lowerBound + end), type: t))
            cursor = end
        }
        return out
    }

    /// The elements of an array.
    public func elements() throws -> [GVariantView] {
        guard case .array(let e) = type else { throw DeltaFormatError.malformed("expected an array, have \(type.typeString)") }
        if let fixed = e.fixedSize {
            guard size % fixed == 0 else { throw DeltaFormatError.malformed("array of \(e.typeString) has a partial element") }
            return (0..<(size / fixed)).map {
                GVariantView(base: base, range: (range.lowerBound + $0 * fixed)..<(range.lowerBound + ($0 + 1) * fixed), type: e)
            }
        }
        if size == 0 { return [] }
        let width = FramingOffsets.readerWidth(containerSize: size)
        let tableStart = readOffset(at: size - width, width: width)
        guard tableStart <= size - width, (size - tableStart) % width == 0 else {
            throw DeltaFormatError.malformed("array framing of \(type.typeString) is invalid")
        }
        let count = (size - tableStart) / width
        var out = [GVariantView]()
        out.reserveCapacity(count)
        var cursor = 0
        for i in 0..<count {
            let start = cursor.aligned(to: e.alignment)
            let end = readOffset(at: tableStart + i * width, width: width)
            guard start <= end, end <= tableStart else {
                throw DeltaFormatError.malformed("array element \(i) of \(type.typeString) out of bounds")
            }
            out.append(GVariantView(base: base, range: (range.lowerBound + start)..<(range.lowerBound + end), type: e))
            cursor = end
        }
        return out
    }

    /// Looks up `key` in an `a{sv}`, returning the variant's child.
    public func lookup(_ key: String) throws -> GVariantView? {
        for entry in try elements() {
            let kv = try entry.members()
            if try kv[0].string() == key { return try kv[1].variant() }
        }
        return nil
    }

    private func readOffset(at relative: Int, width: Int) -> Int {
        var v: UInt64 = 0
        for i in (0..<width).reversed() { v = v << 8 | UInt64(base[range.lowerBound + relative + i]) }
        return v > UInt64(Int.max) ? Int.max : Int(v)
    }

    private func expectSize(_ n: Int) throws {
        guard size == n else { throw DeltaFormatError.malformed("\(type.typeString) has size \(size), expected \(n)") }
    }
}

public enum DeltaFormatError: ClassifiedError, Equatable, CustomStringConvertible {
    case malformed(String)
    case compression(String)

    /// The format layer reads what it is given: a malformed delta, or an xz stream that
    /// does not decode, is the caller's input. (The generator wraps the errors of its own
    /// encoding as delta work.)
    public var failureKind: FailureKind { .badInput }

    public var description: String {
        switch self {
        case .malformed(let why): return "malformed delta: \(why)"
        case .compression(let why): return "compression: \(why)"
        }
    }
}
