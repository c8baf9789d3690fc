import ArgumentParser
import DeltaCompiler
import DeltaFormat
import DeltaPlanning
import Foundation
import OSTreeRepo

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
            larger parts mean fewer round trips. --svg writes a chart of bytes and modelled \
            time against chunk size.
            """)

    @OptionGroup var repoOptions: RepoOptions

    @Argument(help: ArgumentHelp("The commit to delta from.", valueName: "FROM"))
    var from: String

    @Argument(help: ArgumentHelp("The commit to delta to.", valueName: "TO"))
    var to: String

    @Option(help: ArgumentHelp("Comma-separated part size limits to try, in MB.", valueName: "MB,MB,…"))
    var chunkSizes: String = "8,16,32,64"

    @Option(help: ArgumentHelp("Round-trip time of the modelled link, in milliseconds.", valueName: "MS"))
    var rttMs: Double = 50

    @Option(help: ArgumentHelp("Bandwidth of the modelled link, in Mbit/s.", valueName: "MBIT"))
    var bandwidthMbit: Double = 20

    @Option(help: ArgumentHelp("Requests the modelled client keeps in flight.", valueName: "N"))
    var concurrency: Int = 8

    @Option(help: ArgumentHelp("As for generate-delta.", valueName: "MB"))
    var minFallbackSize: UInt64 = 4

    @Option(help: ArgumentHelp("Encode objects on N threads and compress up to N parts at once (default: the number of cores).", valueName: "N"))
    var jobs: Int?

    @Option(help: ArgumentHelp("Write a chart of bytes and modelled time to FILE.", valueName: "FILE"))
    var svg: String?

    @Flag(help: "Print one JSON object instead of the table.")
    var json = false

    func validate() throws {
        if rttMs < 0 { throw ValidationError("--rtt-ms cannot be negative") }
        if bandwidthMbit <= 0 { throw ValidationError("--bandwidth-mbit must be positive") }
        if concurrency < 1 { throw ValidationError("--concurrency must be at least 1") }
        if let jobs, jobs < 1 { throw ValidationError("--jobs must be at least 1") }
    }

    func run() throws {
        try reportingErrors {
            let sizes = try parseSizes()
            let repo = try repoOptions.open()
            let name = DeltaName(from: try resolve(from, in: repo, role: "FROM"), to: try resolve(to, in: repo, role: "TO"))
            let model = DownloadModel(rttMs: rttMs, bandwidthMbit: bandwidthMbit, concurrency: concurrency)
            let scratch = try Publishing.makeTemporaryDirectory(in: NSTemporaryDirectory(), prefix: "deltagen-bench")
            defer { try? FileManager.default.removeItem(atPath: scratch) }

            var rows: [BenchRow] = []
            for (i, size) in sizes.enumerated() {
                var options = DeltaOptions()
                options.maxChunkSize = Int(size * 1_000_000)
                options.minFallbackSize = minFallbackSize * 1_000_000
                options.filename = "\(scratch)/\(i)/superblock"
                if let jobs { options.jobs = jobs }
                try FileManager.default.createDirectory(atPath: "\(scratch)/\(i)", withIntermediateDirectories: true)
                do {
                    _ = try DeltaGenerator(repo: repo, options: options).generate(name)
                } catch {
                    throw CLIError("generating \(name) with --max-chunk-size \(size): \(error)")
                }
                let d = try DeltaLocation(superblockPath: options.filename!).inspect()
                let superblock = ((try? FileManager.default.attributesOfItem(atPath: options.filename!))?[.size] as? UInt64) ?? 0
                var row = BenchRow(chunkSizeMB: size, parts: d.parts.count, fallbacks: d.superblock.fallbacks.count,
                                   totalBytes: d.totalSize, uncompressedBytes: d.totalUncompressedSize,
                                   largestPart: d.parts.map(\.size).max() ?? 0,
                                   largestPartUncompressed: d.parts.map(\.uncompressedSize).max() ?? 0,
                                   superblockBytes: superblock)
                row.modelledSeconds = model.deltaSeconds(row)
                rows.append(row)
                try? FileManager.default.removeItem(atPath: "\(scratch)/\(i)")
            }
            var pull = try objectPull(repo, name)
            pull.modelledSeconds = model.objectPullSeconds(objects: pull.objects, bytes: pull.bytes)

            if let svg {
                let chart = BenchReport.svg(rows: rows, objectPull: pull, model: model,
                                            title: "Static delta \(name.from!.hex.prefix(10))… → \(name.to.hex.prefix(10))…")
                do { try Publishing.writeAtomically(Data(chart.utf8), to: svg) } catch {
                    throw CLIError("writing \(svg): \(error)")
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
        guard !sizes.isEmpty, sizes.allSatisfy({ ($0 ?? 0) * 1_000_000 >= 1 && $0!.isFinite }) else {
            throw CLIError("--chunk-sizes \(chunkSizes): expected positive sizes in MB, separated by commas")
        }
        return sizes.map { $0! }
    }

    /// What a pull without deltas fetches: every object of TO that FROM lacks, at its stored size.
    private func objectPull(_ repo: Repository, _ name: DeltaName) throws -> ObjectPullCost {
        let needed = try repo.traverse(commit: name.to).subtracting(try repo.traverse(commit: name.from!))
        var bytes: UInt64 = 0
        for object in needed { bytes += try repo.storageSize(of: object) }
        return ObjectPullCost(objects: needed.count, bytes: bytes)
    }

    private func resolve(_ rev: String, in repo: Repository, role: String) throws -> Checksum {
        do { return try repo.resolve(rev) } catch let e as GLibError {
            throw CLIError("cannot resolve \(role) \(rev): \(e.message)")
        }
    }
}

private struct BenchJSON: Encodable {
    var delta: String
    var model: DownloadModel
    var rows: [BenchRow]
    var objectPull: ObjectPullCost
}
