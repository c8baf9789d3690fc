import DeltaFormat
import Foundation

/// The report as an SVG chart that reads without hovering: one labelled horizontal bar per
/// kind, encoding and directory, each split by encoding in the legend's colours, with its
/// size and share written beside it.
extension ExplainReport {
    static let encodingColours: [Encoding: String] = [
        .literal: "#4e79a7", .bsdiff: "#f28e2b", .rollsum: "#59a14f", .fallback: "#e15759",
    ]
    /// Directories drawn; the rest are summed in one bar.
    public static let chartDirectoryCount = 12

    public func svg(title: String) -> String {
        let width = 1000, labelWidth = 300, barLeft = 310, barWidth = 470, rowHeight = 22
        var body: [String] = []
        var y = 40
        func text(_ x: Int, _ y: Int, _ s: String, size: Int = 13, anchor: String = "start", bold: Bool = false) {
            body.append("<text x=\"\(x)\" y=\"\(y)\" font-size=\"\(size)\" text-anchor=\"\(anchor)\"\(bold ? " font-weight=\"bold\"" : "")>\(escape(s))</text>")
        }
        func share(_ n: UInt64) -> String {
            totalSize == 0 ? "0%" : String(format: "%.1f%%", Double(n) * 100 / Double(totalSize))
        }
        text(10, y, "\(title): \(DeltaReader.humanSize(totalSize)) in \(objects.count) objects", size: 16, bold: true)
        y += 24
        // Legend first, so the colours are known before the bars.
        var x = 10
        text(x, y, "Encoding:", bold: true)
        x += 80
        for e in Encoding.allCases {
            body.append("<rect x=\"\(x)\" y=\"\(y - 11)\" width=\"14\" height=\"14\" fill=\"\(ExplainReport.encodingColours[e]!)\"/>")
            text(x + 20, y, e.rawValue)
            x += 110
        }
        y += 16
        func section(_ heading: String, _ buckets: [Bucket]) {
            y += 26
            text(10, y, heading, size: 14, bold: true)
            y += 8
            let largest = max(1, buckets.map(\.bytes).max() ?? 1)
            for b in buckets {
                y += rowHeight
                text(labelWidth, y, truncated(b.name, 42), anchor: "end")
                var left = Double(barLeft)
                for e in Encoding.allCases {
                    let bytes = b.byEncoding[e.rawValue] ?? 0
                    guard bytes > 0 else { continue }
                    let w = Double(barWidth) * Double(bytes) / Double(largest)
                    let rect = String(format: "x=\"%.1f\" y=\"%d\" width=\"%.1f\"", left, y - 13, max(w, 0.5))
                    body.append("<rect \(rect) height=\"16\" fill=\"\(ExplainReport.encodingColours[e]!)\"/>")
                    left += w
                }
                text(Int(left) + 6, y, "\(DeltaReader.humanSize(b.bytes)) (\(share(b.bytes)))")
            }
        }
        section("Bytes by kind", byKind)
        section("Bytes by encoding", byEncoding)
        var directories = Array(byDirectory.prefix(ExplainReport.chartDirectoryCount))
        if byDirectory.count > directories.count {
            var rest = Bucket(name: "(\(byDirectory.count - directories.count) more directories)", bytes: 0, objects: 0, byEncoding: [:])
            for b in byDirectory.dropFirst(directories.count) {
                rest.bytes += b.bytes
                for (k, v) in b.byEncoding { rest.byEncoding[k, default: 0] += v }
            }
            directories.append(rest)
        }
        section("Bytes by directory (two levels)", directories)
        y += 26
        text(10, y, "Advice (measured)", size: 14, bold: true)
        for line in adviceLines() {
            y += 20
            text(20, y, line.trimmingCharacters(in: .whitespaces))
        }
        y += 20
        return """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(width)" height="\(y)" viewBox="0 0 \(width) \(y)" font-family="DejaVu Sans, sans-serif">
            <rect width="100%" height="100%" fill="white"/>
            \(body.joined(separator: "\n"))
            </svg>

            """
    }

    private func truncated(_ s: String, _ count: Int) -> String {
        s.count <= count ? s : "…" + s.suffix(count - 1)
    }

    private func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
