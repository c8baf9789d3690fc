import DeltaFormat
import Foundation

/// The delta-stats file devices read before an update: `{"<to>":{"<from>":{"size":N,"u_size":M}}}`.
///
/// `size` and `u_size` are `ostree static-delta show`'s Total Size and Total Uncompressed
/// Size (parts plus fallbacks). aktualizr-lite compares `u_size` with free space.
public struct DeltaStats: Equatable, Sendable {
    public struct Entry: Equatable, Sendable {
        public var size: UInt64
        public var uSize: UInt64

        public init(size: UInt64, uSize: UInt64) {
            self.size = size
            self.uSize = uSize
        }
    }

    /// to commit → from commit → sizes.
    public var entries: [Checksum: [Checksum: Entry]]

    public init(entries: [Checksum: [Checksum: Entry]] = [:]) { self.entries = entries }

    public var isEmpty: Bool { entries.isEmpty }

    public subscript(from from: Checksum, to to: Checksum) -> Entry? {
        get { entries[to]?[from] }
        set { entries[to, default: [:]][from] = newValue }
    }

    /// Reads a stats file, canonical or not. Anything that a device would reject, or that our
    /// canonical form would silently drop, is an error rather than lost.
    public init(json data: Data, file: String = "delta-stats") throws {
        let root = try JSONNode.parse(data, file: file)
        var entries: [Checksum: [Checksum: Entry]] = [:]
        for (toHex, froms) in try root.members() {
            guard let to = Checksum(hex: toHex), toHex == to.hex else { throw froms.fail("key is not a commit checksum") }
            var map: [Checksum: Entry] = [:]
            for (fromHex, entry) in try froms.members() {
                guard let from = Checksum(hex: fromHex), fromHex == from.hex else { throw entry.fail("key is not a commit checksum") }
                let keys = try entry.object().keys.sorted()
                guard keys == ["size", "u_size"] else { throw entry.fail("expected exactly \"size\" and \"u_size\"") }
                map[from] = Entry(size: try entry.required("size").uint64(), uSize: try entry.required("u_size").uint64())
            }
            entries[to] = map
        }
        self.entries = entries
    }

    /// Adds `other`'s entries; an entry for the same pair is replaced by `other`'s.
    public mutating func merge(_ other: DeltaStats) {
        for (to, froms) in other.entries {
            entries[to, default: [:]].merge(froms) { _, new in new }
        }
    }

    /// Only the entries for one target commit: the content of `<archive>/<to>.json`.
    public func restricted(to commit: Checksum) -> DeltaStats {
        DeltaStats(entries: entries[commit].map { [commit: $0] } ?? [:])
    }

    /// Canonical JSON (Python canonicaljson's form): keys sorted, no whitespace, UTF-8.
    /// Every key is lowercase hex and every value an integer, so no escaping can arise.
    public func canonicalBytes() -> [UInt8] {
        var s = "{"
        for (i, to) in entries.keys.sorted(by: { $0.hex < $1.hex }).enumerated() {
            if i > 0 { s += "," }
            s += "\"\(to.hex)\":{"
            for (j, (from, e)) in entries[to]!.sorted(by: { $0.key.hex < $1.key.hex }).enumerated() {
                if j > 0 { s += "," }
                s += "\"\(from.hex)\":{\"size\":\(e.size),\"u_size\":\(e.uSize)}"
            }
            s += "}"
        }
        return Array((s + "}").utf8)
    }

    /// What a Target's `custom.delta-stats` holds for these bytes.
    public static func reference(for bytes: [UInt8]) -> Reference {
        Reference(sha256: SHA256Hasher.digest(bytes).hex, size: bytes.count)
    }

    public struct Reference: Codable, Equatable, Sendable {
        public var sha256: String
        public var size: Int

        /// The `custom.delta-stats` value, canonical like the file it points to.
        public var json: String { "{\"sha256\":\"\(sha256)\",\"size\":\(size)}" }
    }
}
