import Foundation

/// One object's cost in a delta.
public struct ObjectCost: Codable, Equatable, Sendable {
    public var checksum: String
    /// "file", "dirtree", "dirmeta" or "commit".
    public var type: String
    /// Where the object lands in TO (its first path), or "(unreachable)" if TO's tree
    /// does not hold it.
    public var path: String
    /// How many more paths of TO hold the same object.
    public var otherPaths: Int
    public var kind: ObjectKind
    public var encoding: Encoding
    /// The part that carries it; nil for a fallback.
    public var part: Int?
    /// The size of FROM's version (the read source, or the file at the same path), if any.
    public var oldSize: UInt64?
    public var newSize: UInt64
    /// The delta bytes attributed to it.
    public var bytes: UInt64
}

/// A group of objects and the bytes attributed to them.
public struct Bucket: Codable, Equatable, Sendable {
    public var name: String
    public var bytes: UInt64
    public var objects: Int
    /// The same bytes split by encoding, keyed by `Encoding.rawValue`.
    public var byEncoding: [String: UInt64]
}

/// Measured advice for one compressed-stream format.
public struct StreamAdvice: Codable, Equatable, Sendable {
    public var format: StreamFormat
    /// Changed files of this format: in TO, with a different version in FROM.
    public var changedFiles: Int
    /// What those files cost in this delta.
    public var deltaBytes: UInt64
    /// Of those, the files whose old and new versions were decompressed and diffed.
    public var measuredFiles: Int
    /// What the measured files cost in this delta.
    public var measuredDeltaBytes: UInt64
    /// What the measured files would cost shipped uncompressed: their uncompressed old and
    /// new versions diffed as deltagen does, and the results compressed together as a part is.
    public var uncompressedCost: UInt64?
    /// Why files were not measured, if some were not.
    public var note: String?
}

public struct Advice: Codable, Equatable, Sendable {
    public var streams: [StreamAdvice]
    public var kernelImages: [ObjectCost]
}

/// Everything `deltagen explain` reports about one delta.
public struct ExplainReport: Codable, Equatable, Sendable {
    public var from: String?
    public var to: String
    public var method: String
    /// `show`'s totals: the same numbers.
    public var totalSize: UInt64
    public var totalPartSize: UInt64
    public var totalFallbackSize: UInt64
    public var totalUncompressedSize: UInt64
    public var parts: Int
    public var byKind: [Bucket]
    public var byEncoding: [Bucket]
    /// By top-level directory, two levels deep (`/usr/lib`).
    public var byDirectory: [Bucket]
    /// The costliest objects, most bytes first (at most `costliestCount`).
    public var costliest: [ObjectCost]
    /// Every object in the delta, most bytes first.
    public var objects: [ObjectCost]
    public var advice: Advice
    public var elapsedSeconds: Double

    public static let costliestCount = 20

    /// The report as JSON, keys sorted so that two reports diff cleanly.
    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        return try encoder.encode(self)
    }

    /// Writes the JSON to `path` through a temporary file and a rename, so a reader never
    /// sees half a report.
    public func writeJSON(to path: String) throws {
        try jsonData().write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    public static func decode(_ data: Data) throws -> ExplainReport {
        try JSONDecoder().decode(ExplainReport.self, from: data)
    }
}

extension Bucket {
    /// Groups `objects` by `key`, most bytes first; ties by name, so output is stable.
    static func group(_ objects: [ObjectCost], by key: (ObjectCost) -> String) -> [Bucket] {
        var buckets: [String: Bucket] = [:]
        for o in objects {
            let name = key(o)
            var b = buckets[name] ?? Bucket(name: name, bytes: 0, objects: 0, byEncoding: [:])
            b.bytes += o.bytes
            b.objects += 1
            b.byEncoding[o.encoding.rawValue, default: 0] += o.bytes
            buckets[name] = b
        }
        return buckets.values.sorted { $0.bytes != $1.bytes ? $0.bytes > $1.bytes : $0.name < $1.name }
    }

    /// `/usr/lib/x86_64-linux-gnu/libc.so.6` → `/usr/lib`; a file at the top → `/`; a
    /// directory's metadata goes under the directory itself.
    static func directory(of o: ObjectCost) -> String {
        if o.path.hasPrefix("(") { return "/" }
        var components = o.path.split(separator: "/").map(String.init)
        if o.type == "file" { components = Array(components.dropLast()) }
        return components.isEmpty ? "/" : "/" + components.prefix(2).joined(separator: "/")
    }
}
