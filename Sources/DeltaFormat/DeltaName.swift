import Foundation

/// A delta's identity: an optional from commit and a to commit.
///
/// Its text form is `FROMHEX-TOHEX`, or `TOHEX` for a delta from scratch; its place in
/// a repo is `deltas/` plus the modified-base64 form of the checksums (format §1).
public struct DeltaName: Hashable, Sendable, CustomStringConvertible {
    public var from: Checksum?
    public var to: Checksum

    public init(from: Checksum?, to: Checksum) {
        self.from = from
        self.to = to
    }

    /// Parses `FROMHEX-TOHEX` or `TOHEX`; nil for anything else, so names never carry paths.
    public init?(_ text: String) {
        let pieces = text.split(separator: "-", omittingEmptySubsequences: false)
        switch pieces.count {
        case 1:
            guard let to = Checksum(hex: String(pieces[0])) else { return nil }
            self.init(from: nil, to: to)
        case 2:
            guard let from = Checksum(hex: String(pieces[0])), let to = Checksum(hex: String(pieces[1])) else { return nil }
            self.init(from: from, to: to)
        default:
            return nil
        }
    }

    public var description: String {
        if let from { return "\(from.hex)-\(to.hex)" }
        return to.hex
    }

    /// The delta directory relative to the repo root, e.g. `deltas/ol/G2yu…-aPUE…`.
    public var relativePath: String {
        let t = ModifiedBase64.encode(to)
        if let from {
            let f = ModifiedBase64.encode(from)
            return "deltas/\(f.prefix(2))/\(f.dropFirst(2))-\(t)"
        }
        return "deltas/\(t.prefix(2))/\(t.dropFirst(2))"
    }

    /// The delta index file for this delta's target, relative to the repo root.
    public var indexRelativePath: String {
        let t = ModifiedBase64.encode(to)
        return "delta-indexes/\(t.prefix(2))/\(t.dropFirst(2)).index"
    }

    /// Reads a delta directory path relative to `deltas/` (`XX/rest[-TO]`) back into a name.
    public init?(deltasSubpath: String) {
        let parts = deltasSubpath.split(separator: "/")
        guard parts.count == 2, parts[0].count == 2 else { return nil }
        let joined = String(parts[0]) + String(parts[1])
        let halves = joined.split(separator: "-", omittingEmptySubsequences: false)
        switch halves.count {
        case 1:
            guard let to = ModifiedBase64.decode(String(halves[0])) else { return nil }
            self.init(from: nil, to: to)
        case 2:
            guard let from = ModifiedBase64.decode(String(halves[0])),
                  let to = ModifiedBase64.decode(String(halves[1])) else { return nil }
            self.init(from: from, to: to)
        default:
            return nil
        }
    }
}

/// ostree's path-safe base64 of a checksum: standard base64, `=` dropped, `/` → `_`.
public enum ModifiedBase64 {
    public static func encode(_ checksum: Checksum) -> String {
        var s = Data(checksum.bytes).base64EncodedString()
        s.removeLast()  // 32 bytes always end in a single "="
        return s.replacingOccurrences(of: "/", with: "_")
    }

    public static func decode(_ text: String) -> Checksum? {
        guard text.count == 43, !text.contains("/") else { return nil }
        guard let data = Data(base64Encoded: text.replacingOccurrences(of: "_", with: "/") + "=") else { return nil }
        return Checksum(bytes: [UInt8](data))
    }
}
