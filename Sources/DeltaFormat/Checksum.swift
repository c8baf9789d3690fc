import CGLib

/// A SHA-256 object checksum: 32 raw bytes, shown as 64 lowercase hex characters.
///
/// Stored as four words so that sets and dictionaries of many thousands of
/// object names stay cheap to hash and compare.
public struct Checksum: Hashable, Comparable, Sendable, CustomStringConvertible {
    private var w0: UInt64, w1: UInt64, w2: UInt64, w3: UInt64

    public static let byteCount = 32

    /// Creates a checksum from exactly 32 raw bytes; nil for any other length.
    public init?<C: Collection>(bytes: C) where C.Element == UInt8 {
        guard bytes.count == Checksum.byteCount else { return nil }
        var words = [UInt64](repeating: 0, count: 4)
        for (i, b) in bytes.enumerated() {
            words[i / 8] = (words[i / 8] << 8) | UInt64(b)
        }
        (w0, w1, w2, w3) = (words[0], words[1], words[2], words[3])
    }

    /// Creates a checksum from 64 hex characters (either case); nil otherwise.
    public init?(hex: String) {
        let utf8 = Array(hex.utf8)
        guard utf8.count == 64 else { return nil }
        var raw = [UInt8]()
        raw.reserveCapacity(32)
        var i = 0
        while i < 64 {
            guard let hi = Checksum.nibble(utf8[i]), let lo = Checksum.nibble(utf8[i + 1]) else { return nil }
            raw.append(hi << 4 | lo)
            i += 2
        }
        self.init(bytes: raw)
    }

    public var bytes: [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(32)
        for w in [w0, w1, w2, w3] {
            for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: w >> UInt64(shift))) }
        }
        return out
    }

    public var hex: String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(64)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    public var description: String { hex }

    public static func < (a: Checksum, b: Checksum) -> Bool {
        (a.w0, a.w1, a.w2, a.w3) < (b.w0, b.w1, b.w2, b.w3)
    }

    /// True when `text` is exactly 64 hex characters (ostree's full checksum form).
    public static func isHex(_ text: String) -> Bool { Checksum(hex: text) != nil }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}

/// Incremental SHA-256 over GLib's GChecksum.
public final class SHA256Hasher {
    private let handle: OpaquePointer

    public init() {
        handle = g_checksum_new(G_CHECKSUM_SHA256)
    }

    deinit { g_checksum_free(handle) }

    public func update(_ data: UnsafeRawBufferPointer) {
        guard let base = data.baseAddress, data.count > 0 else { return }
        g_checksum_update(handle, base.assumingMemoryBound(to: UInt8.self), data.count)
    }

    public func update(_ data: [UInt8]) { data.withUnsafeBytes { update($0) } }
    public func update(_ data: ArraySlice<UInt8>) { data.withUnsafeBytes { update($0) } }

    /// Ends the hash; the hasher must not be updated afterwards.
    public func finish() -> Checksum {
        var digest = [UInt8](repeating: 0, count: 32)
        var length = gsize(32)
        g_checksum_get_digest(handle, &digest, &length)
        return Checksum(bytes: digest)!
    }

    public static func digest(_ data: [UInt8]) -> Checksum {
        let hasher = SHA256Hasher()
        hasher.update(data)
        return hasher.finish()
    }
}
