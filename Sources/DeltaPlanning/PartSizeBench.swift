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

    /// Two panels, bytes and modelled time against chunk size, each with the object pull as
    /// a dashed line. Chunk sizes are spaced evenly, since they are usually doublings.
    public static func svg(rows: [BenchRow], objectPull: ObjectPullCost, model: DownloadModel, title: String) -> String {
        let width = 860.0, height = 380.0
        var body = ""
        let panels: [(String, [Double], Double, (Double) -> String)] = [
            ("Download size (MB)", rows.map { Double($0.totalBytes) / 1e6 }, Double(objectPull.bytes) / 1e6, { String(format: "%.2f", $0) }),
            ("Modelled download time (s)", rows.map(\.modelledSeconds), objectPull.modelledSeconds, { String(format: "%.2f", $0) }),
        ]
        for (index, panel) in panels.enumerated() {
            body += self.panel(x: 20 + Double(index) * 420, y: 50, w: 400, h: 290, title: panel.0,
                               labels: rows.map { mb($0.chunkSizeMB) }, values: panel.1, reference: panel.2, format: panel.3)
        }
        let subtitle = "\(trim(model.rttMs)) ms RTT, \(trim(model.bandwidthMbit)) Mbit/s, \(model.concurrency) in flight; "
            + "dashed: object-by-object pull (\(objectPull.objects) requests)"
        return """
            <?xml version="1.0" encoding="UTF-8"?>
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" font-family="sans-serif" font-size="12">
            <rect width="100%" height="100%" fill="white"/>
            <text x="20" y="22" font-size="15" font-weight="bold">\(escape(title))</text>
            <text x="20" y="40" fill="#555">\(escape(subtitle))</text>
            \(body)</svg>

            """
    }

    private static func panel(x: Double, y: Double, w: Double, h: Double, title: String, labels: [String],
                              values: [Double], reference: Double, format: (Double) -> String) -> String {
        let left = x + 50, right = x + w - 10, top = y + 24, bottom = y + h - 36
        let maxValue = max(values.max() ?? 0, reference, 1e-9) * 1.1
        func px(_ i: Int) -> Double {
            values.count <= 1 ? (left + right) / 2 : left + (right - left) * Double(i) / Double(values.count - 1)
        }
        func py(_ v: Double) -> Double { bottom - (bottom - top) * v / maxValue }
        var s = "<g>\n<text x=\"\(f(x + 10))\" y=\"\(f(y + 12))\" font-weight=\"bold\">\(escape(title))</text>\n"
        s += "<line x1=\"\(f(left))\" y1=\"\(f(bottom))\" x2=\"\(f(right))\" y2=\"\(f(bottom))\" stroke=\"black\"/>\n"
        s += "<line x1=\"\(f(left))\" y1=\"\(f(top))\" x2=\"\(f(left))\" y2=\"\(f(bottom))\" stroke=\"black\"/>\n"
        for tick in 0...4 {
            let v = maxValue * Double(tick) / 4
            s += "<text x=\"\(f(left - 4))\" y=\"\(f(py(v) + 4))\" text-anchor=\"end\" fill=\"#555\">\(format(v))</text>\n"
            s += "<line x1=\"\(f(left))\" y1=\"\(f(py(v)))\" x2=\"\(f(right))\" y2=\"\(f(py(v)))\" stroke=\"#ddd\"/>\n"
        }
        for (i, label) in labels.enumerated() {
            s += "<text x=\"\(f(px(i)))\" y=\"\(f(bottom + 16))\" text-anchor=\"middle\">\(escape(label))</text>\n"
        }
        s += "<text x=\"\(f((left + right) / 2))\" y=\"\(f(bottom + 32))\" text-anchor=\"middle\" fill=\"#555\">--max-chunk-size (MB)</text>\n"
        s += "<line x1=\"\(f(left))\" y1=\"\(f(py(reference)))\" x2=\"\(f(right))\" y2=\"\(f(py(reference)))\" stroke=\"#c0392b\" stroke-dasharray=\"6 4\"/>\n"
        let points = values.enumerated().map { "\(f(px($0)))," + f(py($1)) }.joined(separator: " ")
        s += "<polyline points=\"\(points)\" fill=\"none\" stroke=\"#2471a3\" stroke-width=\"2\"/>\n"
        for (i, v) in values.enumerated() {
            s += "<circle cx=\"\(f(px(i)))\" cy=\"\(f(py(v)))\" r=\"3.5\" fill=\"#2471a3\"><title>\(escape(format(v)))</title></circle>\n"
        }
        return s + "</g>\n"
    }

    private static func f(_ v: Double) -> String { String(format: "%.1f", v) }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
