import Foundation

/// One delta built with one `--max-chunk-size`, as `bench-parts` measured it.
public struct BenchRow: Codable, Equatable, Sendable {
    public var chunkSizeMB: Double
    public var parts: Int
    public var fallbacks: Int
    /// Parts plus fallbacks: what the client downloads besides the superblock.
    public var totalBytes: UInt64
    public var uncompressedBytes: UInt64
    public var largestPart: UInt64
    /// The biggest part's payload, which a client holds in memory while applying it.
    public var largestPartUncompressed: UInt64
    public var superblockBytes: UInt64
    public var modelledSeconds: Double

    public init(chunkSizeMB: Double, parts: Int, fallbacks: Int, totalBytes: UInt64, uncompressedBytes: UInt64,
                largestPart: UInt64, largestPartUncompressed: UInt64, superblockBytes: UInt64, modelledSeconds: Double = 0) {
        self.chunkSizeMB = chunkSizeMB
        self.parts = parts
        self.fallbacks = fallbacks
        self.totalBytes = totalBytes
        self.uncompressedBytes = uncompressedBytes
        self.largestPart = largestPart
        self.largestPartUncompressed = largestPartUncompressed
        self.superblockBytes = superblockBytes
        self.modelledSeconds = modelledSeconds
    }

    /// Requests after the superblock: one per part and one per fallback object.
    public var requests: Int { parts + fallbacks }
}

/// The object-by-object pull the same update costs without a delta.
public struct ObjectPullCost: Codable, Equatable, Sendable {
    public var objects: Int
    public var bytes: UInt64
    public var modelledSeconds: Double

    public init(objects: Int, bytes: UInt64, modelledSeconds: Double = 0) {
        self.objects = objects
        self.bytes = bytes
        self.modelledSeconds = modelledSeconds
    }
}

/// A deliberately simple link model: each round of up to `concurrency` requests costs one
/// round trip, and every byte crosses one link of `bandwidthMbit`. libostree keeps at most 8
/// requests in flight, which is the default here.
public struct DownloadModel: Codable, Equatable, Sendable {
    public var rttMs: Double
    public var bandwidthMbit: Double
    public var concurrency: Int

    public init(rttMs: Double, bandwidthMbit: Double, concurrency: Int = 8) {
        self.rttMs = rttMs
        self.bandwidthMbit = bandwidthMbit
        self.concurrency = max(1, concurrency)
    }

    func rounds(_ requests: Int) -> Int { (requests + concurrency - 1) / concurrency }

    func transfer(_ bytes: UInt64) -> Double { Double(bytes) * 8 / (bandwidthMbit * 1_000_000) }

    /// The superblock first (its own round trip: it names the parts), then parts and fallbacks.
    public func deltaSeconds(_ row: BenchRow) -> Double {
        rttMs / 1000 * Double(1 + rounds(row.requests)) + transfer(row.superblockBytes + row.totalBytes)
    }

    /// One request per object. A lower bound: it ignores that the tree is walked level by level.
    public func objectPullSeconds(objects: Int, bytes: UInt64) -> Double {
        rttMs / 1000 * Double(rounds(objects)) + transfer(bytes)
    }
}

public enum BenchReport {
    public static func table(rows: [BenchRow], objectPull: ObjectPullCost, model: DownloadModel) -> String {
        func pad(_ s: String, _ w: Int) -> String { String(repeating: " ", count: max(0, w - s.count)) + s }
        let header = ["chunk MB", "parts", "fallbacks", "requests", "total bytes", "usize", "largest part",
                      "largest usize", "modelled s"]
        let widths = header.map { max($0.count, 10) }
        var out = zip(header, widths).map { pad($0, $1) }.joined(separator: "  ") + "\n"
        for r in rows {
            let cells = [mb(r.chunkSizeMB), "\(r.parts)", "\(r.fallbacks)", "\(1 + r.requests)", "\(r.totalBytes)",
                         "\(r.uncompressedBytes)", "\(r.largestPart)", "\(r.largestPartUncompressed)",
                         String(format: "%.2f", r.modelledSeconds)]
            out += zip(cells, widths).map { pad($0, $1) }.joined(separator: "  ") + "\n"
        }
        out += "object-by-object pull: \(objectPull.objects) requests, \(objectPull.bytes) bytes, "
        out += String(format: "%.2f", objectPull.modelledSeconds) + " s modelled\n"
        out += "model: \(trim(model.rttMs)) ms round trip, \(trim(model.bandwidthMbit)) Mbit/s, "
        out += "\(model.concurrency) requests in flight; requests include the superblock\n"
        return out
    }

    static func mb(_ v: Double) -> String { trim(v) }

    static func trim(_ v: Double) -> String {
        v == v.rounded() ? String(Int(v)) : String(format: "%g", v)
    }

    /// The chart `--svg` writes; see BenchChart.
    public static func svg(rows: [BenchRow], objectPull: ObjectPullCost, model: DownloadModel, title: String) -> String {
        BenchChart.svg(rows: rows, objectPull: objectPull, model: model, title: title)
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
