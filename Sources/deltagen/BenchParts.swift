import ArgumentParser
import DeltaFactory
import DeltaPlanning
import Foundation

struct BenchParts: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-parts",
        abstract: "Compare --max-chunk-size values for one delta: parts, bytes and a modelled download time.",
        discussion: """
            The delta FROM -> TO is generated once per size in --chunk-sizes (decimal MB, \
            fractions allowed) into a temporary directory; the repository's deltas/ is not \
            touched. Each run is read back and reported: parts, fallbacks, requests (the \
            superblock, one per part, one per fallback), total bytes and usize (parts plus \
            fallbacks, as `ostree static-delta show` totals them), and the largest part with \
            its payload size, which a client holds in memory while applying it.

            The modelled time assumes every round of up to --concurrency requests costs one \
            round trip of --rtt-ms, and every byte crosses a link of --bandwidth-mbit: the \
            superblock first, then the parts and fallbacks. libostree keeps 8 requests in \
            flight. For contrast, the object-by-object pull of the same update is modelled \
            with one request per object reachable from TO and not from FROM, at its size in \
            the repository (compressed in an archive repository); it is a lower bound, since \
            a real pull also walks the tree level by level.

            Smaller parts mean more requests but less memory per part and finer resumption; \
            larger parts mean fewer round trips. --svg writes a chart against chunk size, with \
            every value printed: download bytes and modelled time (the object pull dashed), and \
            what the device needs to apply the delta: memory, the largest part plus the \
            largest payload, since libostree decompresses a whole part before applying it; \
            and temporary disk, up to --concurrency parts waiting as files to be applied.
            """)

    @OptionGroup var repoOptions: RepoOptions

    @Argument(help: ArgumentHelp("The commit to delta from.", valueName: "FROM"))
    var from: String

    @Argument(help: ArgumentHelp("The commit to delta to.", valueName: "TO"))
    var to: String

    @Option(help: ArgumentHelp("Comma-separated part size limits to try, in MB (each 0.000001–\(Limits.maxMB)).", valueName: "MB,MB,…"))
    var chunkSizes: String = "8,16,32,64"

    @Option(help: ArgumentHelp("Round-trip time of the modelled link, in milliseconds (0–3600000).", valueName: "MS"))
    var rttMs: NumberArgument = 50

    @Option(help: ArgumentHelp("Bandwidth of the modelled link, in Mbit/s (0.001–10000000).", valueName: "MBIT"))
    var bandwidthMbit: NumberArgument = 20

    @Option(help: ArgumentHelp("Requests the modelled client keeps in flight (1–1024).", valueName: "N"))
    var concurrency: NumberArgument = 8

    @OptionGroup var encoding: EncodingOptions

    @Option(help: ArgumentHelp("Write a chart of bytes, time, device memory and disk to FILE.", valueName: "FILE"))
    var svg: String?

    @Flag(help: "Print one JSON object instead of the table.")
    var json = false

    func validate() throws {
        _ = try model()
        _ = try parseSizes()
    }

    /// The model's numbers, each checked against the range its help states.
    private func model() throws -> DownloadModel {
        DownloadModel(rttMs: try rttMs.real("--rtt-ms", 0...3_600_000, unit: "ms"),
                      bandwidthMbit: try bandwidthMbit.real("--bandwidth-mbit", 0.001...10_000_000, unit: "Mbit/s"),
                      concurrency: Int(try concurrency.integer("--concurrency", 1...1024)))
    }

    func run() throws {
        try reportingErrors {
            let model = try model()
            let bench = ChunkSizeBench(sizesMB: try parseSizes(), options: try encoding.deltaOptions(partSize: nil), model: model)
            let repo = try repoOptions.open()
            let (name, rows, pull) = try bench.run(in: repo, from: from, to: to)
            if let svg {
                let chart = BenchReport.svg(rows: rows, objectPull: pull, model: model,
                                            title: "Static delta \(name.from!.hex.prefix(10))… → \(name.to.hex.prefix(10))…")
                do { try FactoryFiles.writeAtomically(Array(chart.utf8), to: svg) } catch let e as FactoryError {
                    throw FactoryError("writing \(svg): \(e.description.components(separatedBy: ": ").last ?? "")", kind: e.failureKind)
                }
            }
            if json {
                try printJSON(BenchJSON(delta: name.description, model: model, rows: rows, objectPull: pull))
            } else {
                print("delta \(name)\(repo.mode == .archive ? "" : " (object sizes are uncompressed: not an archive repository)")")
                print(BenchReport.table(rows: rows, objectPull: pull, model: model), terminator: "")
                if let svg { print("chart written to \(svg)") }
            }
        }
    }

    private func parseSizes() throws -> [Double] {
        let sizes = chunkSizes.split(separator: ",", omittingEmptySubsequences: false).map {
            Double($0.trimmingCharacters(in: .whitespaces))
        }
        let range = 0.000001...Double(Limits.maxMB)
        guard !sizes.isEmpty, sizes.allSatisfy({ $0.map { $0.isFinite && range.contains($0) } ?? false }) else {
            let shown = chunkSizes.count > 40 ? String(chunkSizes.prefix(40)) + "…" : chunkSizes
            throw ValidationError("--chunk-sizes must be sizes from 0.000001 to \(Limits.maxMB) MB, separated by commas, not \(shown)")
        }
        return sizes.map { $0! }
    }
}

private struct BenchJSON: Encodable {
    var delta: String
    var model: DownloadModel
    var rows: [BenchRow]
    var objectPull: ObjectPullCost
}
