/// Unsigned LEB128 as used by delta op streams: 7 bits per byte, low group first.
public enum Varint {
    public static let maxBytes = 10

    public static func append(_ value: UInt64, to out: inout [UInt8]) {
        var v = value
        while v >= 0x80 {
            out.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        out.append(UInt8(v))
    }

    /// Reads one varint at `offset`, advancing it. Throws on truncation or a value over 64 bits.
    public static func read<C: RandomAccessCollection>(_ bytes: C, at offset: inout C.Index) throws -> UInt64
    where C.Element == UInt8 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        for _ in 0..<maxBytes {
            guard offset < bytes.endIndex else { throw DeltaFormatError.malformed("unexpected end of op stream reading varint") }
            let b = bytes[offset]
            offset = bytes.index(after: offset)
            if shift == 63 && b > 1 { throw DeltaFormatError.malformed("varint overflows 64 bits") }
            result |= UInt64(b & 0x7F) << shift
            if b & 0x80 == 0 { return result }
            shift += 7
        }
        throw DeltaFormatError.malformed("varint longer than \(maxBytes) bytes")
    }
}
