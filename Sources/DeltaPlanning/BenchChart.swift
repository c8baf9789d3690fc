import Foundation

/// What applying a delta built at one part size costs the device, from the parts bench-parts
/// measured, following libostree (ostree-repo-pull.c, ostree-repo-static-delta-core.c): a pull
/// fetches up to `concurrency` parts at once, each into a temporary file; applying a part
/// maps that file and decompresses the whole payload into an anonymous temporary file in
/// /var/tmp, which it maps too, before it runs the part's operations.
public struct DeviceCost: Equatable, Sendable {
    /// Largest part plus largest payload, both mapped while a part is applied: an upper bound,
    /// since the two may be different parts. RAM when /var/tmp is a tmpfs; otherwise page
    /// cache that the kernel can reclaim.
    public var memoryBytes: UInt64
    /// Up to `concurrency` fetched parts (never more than there are) plus one payload.
    public var temporaryDiskBytes: UInt64

    public init(memoryBytes: UInt64, temporaryDiskBytes: UInt64) {
        self.memoryBytes = memoryBytes
        self.temporaryDiskBytes = temporaryDiskBytes
    }

    public init(row: BenchRow, concurrency: Int) {
        memoryBytes = row.largestPart + row.largestPartUncompressed
        temporaryDiskBytes = UInt64(min(row.parts, max(1, concurrency))) * row.largestPart + row.largestPartUncompressed
    }
}

/// The bench-parts chart: four panels against --max-chunk-size on a log2 axis, every value
/// printed at its point, a legend in each panel. Top: download size and modelled time, with
/// the object-by-object pull as a dashed line. Bottom: device memory and temporary disk.
public enum BenchChart {
    struct Series {
        var name: String
        var values: [Double]
        var color: String
        var dashed = false
    }

    struct Panel {
        var title: String
        var series: [Series]
        /// A constant to compare with (the object pull), drawn dashed across the panel.
        var reference: (name: String, value: Double)?
    }

    static let blue = "#1f5f99", red = "#b03a2e", green = "#1e7b4b", orange = "#b9650f"

    public static func svg(rows: [BenchRow], objectPull: ObjectPullCost, model: DownloadModel, title: String) -> String {
        let costs = rows.map { DeviceCost(row: $0, concurrency: model.concurrency) }
        let pull = String(format: "object-by-object pull (%d requests)", objectPull.objects)
        let panels = [
            Panel(title: "Download size (MB)",
                  series: [Series(name: "delta: parts + fallbacks + superblock",
                                  values: rows.map { Double($0.totalBytes + $0.superblockBytes) / 1e6 }, color: blue)],
                  reference: (pull, Double(objectPull.bytes) / 1e6)),
            Panel(title: "Modelled download time (s)",
                  series: [Series(name: "delta", values: rows.map(\.modelledSeconds), color: blue)],
                  reference: (pull, objectPull.modelledSeconds)),
            Panel(title: "Peak device memory to apply a part (MB)",
                  series: [Series(name: "largest part + largest payload (upper bound)",
                                  values: costs.map { Double($0.memoryBytes) / 1e6 }, color: green)],
                  reference: nil),
            Panel(title: "Temporary disk on the device (MB)",
                  series: [Series(name: "min(parts, \(model.concurrency)) × largest part + largest payload",
                                  values: costs.map { Double($0.temporaryDiskBytes) / 1e6 }, color: orange)],
                  reference: nil),
        ]
        let width = 900.0, panelW = 430.0, panelH = 300.0, top = 64.0
        var body = ""
        for (i, p) in panels.enumerated() {
            body += panel(p, sizes: rows.map(\.chunkSizeMB), x: 15 + Double(i % 2) * (panelW + 10),
                          y: top + Double(i / 2) * (panelH + 14), w: panelW, h: panelH)
        }
        let notes = [
            "Memory: applying a part maps the part and its whole decompressed payload (RAM if /var/tmp is a tmpfs).",
            "It is an upper bound: the largest part and the largest payload may be different parts.",
            "Disk: up to \(model.concurrency) fetched parts wait as temporary files, plus one payload in /var/tmp. "
                + "Fallback objects go straight into the repository.",
        ]
        let height = top + 2 * panelH + 14 + 18 + 15 * Double(notes.count)
        var noteLines = ""
        for (i, note) in notes.enumerated() {
            let y: Double = top + 2 * panelH + 34 + 15 * Double(i)
            noteLines += text(15, y, note, attributes: "fill=\"#333\" font-size=\"11\"")
        }
        let subtitle = "Link model: \(BenchReport.trim(model.rttMs)) ms round trip, \(BenchReport.trim(model.bandwidthMbit)) Mbit/s, "
            + "\(model.concurrency) requests in flight. Each point is one delta built with that --max-chunk-size."
        return """
            <?xml version="1.0" encoding="UTF-8"?>
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" font-family="DejaVu Sans, Verdana, sans-serif" font-size="12">
            <rect width="100%" height="100%" fill="white"/>
            <text x="15" y="24" font-size="16" font-weight="bold">\(BenchReport.escape(title))</text>
            <text x="15" y="44" fill="#333">\(BenchReport.escape(subtitle))</text>
            \(body)\(noteLines)</svg>

            """
    }

    /// x positions on a log2 scale of the chunk sizes, since they are usually doublings.
    static func positions(_ sizes: [Double], left: Double, right: Double) -> [Double] {
        let logs = sizes.map { log2(max($0, 1e-9)) }
        guard let lo = logs.min(), let hi = logs.max(), hi > lo else { return sizes.map { _ in (left + right) / 2 } }
        return logs.map { left + (right - left) * ($0 - lo) / (hi - lo) }
    }

    /// 1, 2 or 5 times a power of ten, at least `raw`: gridlines at round numbers.
    static func niceStep(_ raw: Double) -> Double {
        let power = pow(10, (log10(raw)).rounded(.down))
        return [1.0, 2, 5, 10].map { $0 * power }.first { $0 >= raw } ?? 10 * power
    }

    static func tickLabel(_ v: Double, step: Double) -> String {
        let decimals = max(0, Int((-log10(step)).rounded(.up)))
        return String(format: "%.\(decimals)f", v)
    }

    static func label(_ v: Double) -> String {
        v >= 100 ? String(format: "%.0f", v) : v >= 10 ? String(format: "%.1f", v) : String(format: "%.2f", v)
    }

    private static func panel(_ p: Panel, sizes: [Double], x: Double, y: Double, w: Double, h: Double) -> String {
        let left = x + 52, right = x + w - 28
        let legendY = y + 36, plotTop = y + 40 + 16 * Double(p.series.count + (p.reference == nil ? 0 : 1)), bottom = y + h - 42
        let all = p.series.flatMap(\.values) + [p.reference?.value ?? 0]
        let step = niceStep(max(all.max() ?? 0, 1e-9) * 1.15 / 4)
        let maxValue = (max(all.max() ?? 0, 1e-9) * 1.15 / step).rounded(.up) * step
        let xs = positions(sizes, left: left + 14, right: right - 14)
        func py(_ v: Double) -> Double { bottom - (bottom - plotTop) * v / maxValue }

        var s = "<g>\n<rect x=\"\(f(x))\" y=\"\(f(y))\" width=\"\(f(w))\" height=\"\(f(h))\" fill=\"none\" stroke=\"#ccc\"/>\n"
        s += text(x + 10, y + 18, p.title, attributes: "font-weight=\"bold\" font-size=\"13\"")
        var row = 0.0
        for series in p.series {
            s += legend(x + 12, legendY + row, series.name, color: series.color, dashed: series.dashed, marker: true)
            row += 16
        }
        if let ref = p.reference { s += legend(x + 12, legendY + row, ref.name, color: red, dashed: true, marker: false) }
        for tick in 0...Int((maxValue / step).rounded()) {
            let v = step * Double(tick)
            s += line(left, py(v), right, py(v), color: "#e3e3e3")
            s += text(left - 5, py(v) + 4, tickLabel(v, step: step), attributes: "text-anchor=\"end\" fill=\"#444\" font-size=\"11\"")
        }
        s += line(left, bottom, right, bottom, color: "#000") + line(left, plotTop, left, bottom, color: "#000")
        for (i, size) in sizes.enumerated() {
            s += line(xs[i], bottom, xs[i], bottom + 4, color: "#000")
            s += text(xs[i], bottom + 17, BenchReport.trim(size), attributes: "text-anchor=\"middle\"")
        }
        s += text((left + right) / 2, bottom + 34, "--max-chunk-size (MB), logarithmic scale",
                  attributes: "text-anchor=\"middle\" fill=\"#333\"")
        if let ref = p.reference {
            s += line(left, py(ref.value), right, py(ref.value), color: red, dash: true)
            s += text(right, py(ref.value) - 5, label(ref.value), attributes: "text-anchor=\"end\" fill=\"\(red)\" font-size=\"11\"")
        }
        for series in p.series {
            let points = zip(xs, series.values).map { "\(f($0)),\(f(py($1)))" }.joined(separator: " ")
            s += "<polyline points=\"\(points)\" fill=\"none\" stroke=\"\(series.color)\" stroke-width=\"2\"/>\n"
            for (i, v) in series.values.enumerated() {
                s += "<circle cx=\"\(f(xs[i]))\" cy=\"\(f(py(v)))\" r=\"3.5\" fill=\"\(series.color)\"/>\n"
                // Alternate above and below so neighbouring equal values do not collide.
                let dy = i % 2 == 0 ? -8.0 : 16.0
                s += text(xs[i], py(v) + dy, label(v), attributes: "text-anchor=\"middle\" fill=\"\(series.color)\" font-size=\"11\" font-weight=\"bold\"")
            }
        }
        return s + "</g>\n"
    }

    private static func legend(_ x: Double, _ y: Double, _ name: String, color: String, dashed: Bool, marker: Bool) -> String {
        var s = line(x, y - 4, x + 24, y - 4, color: color, dash: dashed, width: 2)
        if marker { s += "<circle cx=\"\(f(x + 12))\" cy=\"\(f(y - 4))\" r=\"3.5\" fill=\"\(color)\"/>\n" }
        return s + text(x + 30, y, name, attributes: "fill=\"#222\" font-size=\"11\"")
    }

    private static func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, color: String,
                             dash: Bool = false, width: Double = 1) -> String {
        "<line x1=\"\(f(x1))\" y1=\"\(f(y1))\" x2=\"\(f(x2))\" y2=\"\(f(y2))\" stroke=\"\(color)\" stroke-width=\"\(f(width))\""
            + (dash ? " stroke-dasharray=\"6 4\"" : "") + "/>\n"
    }

    private static func text(_ x: Double, _ y: Double, _ content: String, attributes: String) -> String {
        "<text x=\"\(f(x))\" y=\"\(f(y))\" \(attributes)>\(BenchReport.escape(content))</text>\n"
    }

    static func f(_ v: Double) -> String { String(format: "%.1f", v) }
}
