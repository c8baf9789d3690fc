import Foundation
import DeltaFormat

/// The report as `deltagen explain` prints it.
extension ExplainReport {
    /// Directories printed in text; the rest are summed on one line (all are in the JSON).
    public static let textDirectoryCount = 25

    public func textLines(name: String) -> [String] {
        func size(_ n: UInt64) -> String { DeltaReader.humanSize(n) }
        func percent(_ n: UInt64) -> String {
            totalSize == 0 ? "0.0%" : String(format: "%5.1f%%", Double(n) * 100 / Double(totalSize))
        }
        func pad(_ s: String, _ width: Int) -> String { s.count >= width ? s : s + String(repeating: " ", count: width - s.count) }
        func lpad(_ s: String, _ width: Int) -> String { s.count >= width ? s : String(repeating: " ", count: width - s.count) + s }
        func table(_ title: String, _ buckets: [Bucket], limit: Int = .max) -> [String] {
            var lines = ["", title]
            for b in buckets.prefix(limit) {
                lines.append("  \(pad(b.name, 28)) \(lpad(size(b.bytes), 10)) \(percent(b.bytes))  \(b.objects) objects")
            }
            if buckets.count > limit {
                let rest = buckets.dropFirst(limit)
                let bytes = rest.reduce(0) { $0 + $1.bytes }
                lines.append("  \(pad("(\(rest.count) more)", 28)) \(lpad(size(bytes), 10)) \(percent(bytes))  \(rest.reduce(0) { $0 + $1.objects }) objects")
            }
            return lines
        }

        var lines = ["Delta: \(name)",
                     "Total Size: \(totalSize) (\(size(totalSize)))",
                     "Total Uncompressed Size: \(totalUncompressedSize) (\(size(totalUncompressedSize)))",
                     "Parts: \(parts) (\(totalPartSize) bytes), fallbacks: \(totalFallbackSize) bytes, objects: \(objects.count)",
                     "Attribution: \(method)"]
        lines += table("Bytes by kind:", byKind)
        lines += table("Bytes by encoding:", byEncoding)
        lines += table("Bytes by directory (two levels):", byDirectory, limit: ExplainReport.textDirectoryCount)
        lines += ["", "The \(min(costliest.count, ExplainReport.costliestCount)) costliest objects:",
                  "  \(lpad("bytes", 10)) \(pad("encoding", 8)) \(lpad("old size", 10)) \(lpad("new size", 10))  path"]
        for o in costliest {
            lines.append("  \(lpad(size(o.bytes), 10)) \(pad(o.encoding.rawValue, 8)) \(lpad(o.oldSize.map(size) ?? "-", 10)) \(lpad(size(o.newSize), 10))  \(o.path)")
        }
        lines += ["", "Advice (measured):"] + adviceLines()
        return lines
    }

    public func adviceLines() -> [String] {
        func size(_ n: UInt64) -> String { DeltaReader.humanSize(n) }
        var lines: [String] = []
        for s in advice.streams {
            var line = "  changed \(s.format.suffix) files (\(s.format.rawValue), \(s.changedFiles)): \(size(s.deltaBytes)) of this delta"
            if let cost = s.uncompressedCost {
                let scope = s.measuredFiles == s.changedFiles ? "" : " (the \(s.measuredFiles) measured, \(size(s.measuredDeltaBytes)) here)"
                line += "; shipped uncompressed they would cost \(size(cost))\(scope) (measured)"
            }
            if let note = s.note { line += "; \(note)" }
            lines.append(line)
        }
        for k in advice.kernelImages {
            let old = k.oldSize.map { "\(size($0)) -> " } ?? ""
            lines.append("  kernel image \(k.path): \(size(k.bytes)) of this delta (\(k.encoding.rawValue), \(old)\(size(k.newSize)))")
        }
        if lines.isEmpty { lines.append("  no changed compressed streams and no kernel image in this delta") }
        return lines
    }
}
