import ArgumentParser
import DeltaFactory
import DeltaInsight
import Foundation

struct Explain: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show where a static delta's bytes go, and what would make it smaller.",
        discussion: """
            DELTA is named as for `show`: FROMHEX-TOHEX or TOHEX in the repository's deltas/, \
            or a path containing a slash to a superblock. Deltas written by deltagen and by \
            `ostree static-delta generate` are read alike. The repository must hold TO (every \
            object is mapped to its paths in TO's tree); with FROM too, old sizes and the \
            advice are filled in.

            Every part is read and checked as `show` does. Each object's share of its part (its \
            blob bytes and its ops) is compressed with xz after the 256 KiB of payload before \
            it, and the part's real size is divided among its objects in proportion, so that \
            they add up to it exactly. A fallback object counts at its stored (.filez) size. \
            The totals equal `show`'s.

            The report lists bytes by kind (kernel image, kernel module, ELF, compressed stream, \
            text, other, ostree metadata), by encoding (literal, bsdiff, rollsum, fallback), by \
            directory two levels deep, and the 20 costliest objects.

            Advice: for changed compressed streams (gzip and xz; zstd and bzip2 are counted but \
            not measured), both versions are decompressed, diffed as deltagen would diff them, \
            and compressed as a part is; the figure printed is what those files would cost if \
            the image shipped them uncompressed. A file over 64 MiB is not measured, and an \
            object over 4 MiB is weighed on eight slices of it, so memory stays bounded. \
            Kernel images are listed with their cost.

            --json prints the whole report, every object included, as one JSON object. --svg \
            writes a bar chart of the same figures.
            """)

    @OptionGroup var repoOptions: RepoOptions

    @Argument(help: ArgumentHelp("The delta to explain.", valueName: "DELTA"))
    var delta: String

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    @Option(help: ArgumentHelp("Also write a bar chart to FILE.", valueName: "FILE"))
    var svg: String?

    @Flag(name: .customLong("no-measure"), help: "Skip the measured advice (decompressing and diffing streams).")
    var noMeasure = false

    func run() throws {
        try reportingErrors {
            let repo = try repoOptions.open()
            let location = try locateDelta(delta, repo: { repo })
            var options = ExplainOptions()
            options.measureStreams = !noMeasure
            let report = try DeltaExplainer.explain(location, repo: repo, options: options)
            if let svg {
                do {
                    try Data(report.svg(title: "deltagen explain \(shortName(report))").utf8)
                        .write(to: URL(fileURLWithPath: svg), options: .atomic)
                } catch {
                    throw FactoryError("cannot write \(svg): \(plainReason(error))", causedBy: error)
                }
            }
            if json {
                print(String(decoding: try report.jsonData(), as: UTF8.self))
            } else {
                report.textLines(name: delta).forEach { print($0) }
            }
        }
    }

    /// The delta's commits cut to 12 hex digits, so the chart's title fits its width.
    private func shortName(_ report: ExplainReport) -> String {
        (report.from.map { String($0.prefix(12)) + "-" } ?? "") + String(report.to.prefix(12))
    }
}
