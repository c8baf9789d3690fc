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

    @Option(help: ArgumentHelp("As for generate-delta (0–\(Limits.maxMB)).", valueName: "MB"))
    var minFallbackSize: NumberArgument = 4

    @Option(help: ArgumentHelp("Encode objects on N threads and compress up to N parts at once (1–256; default: the number of cores).", valueName: "N"))
    var jobs: NumberArgument?

    @Option(help: ArgumentHelp("Write a chart of bytes, time, device memory and disk to FILE.", valueName: "FILE"))
    var svg: String?

    @Flag(help: "Print one JSON object instead of the table.")
    var json = false

    func validate() throws {
        _ = try numbers()
        _ = try parseSizes()
    }

    /// The numeric options, each checked against the range its help states.
    private func numbers() throws -> (rttMs: Double, bandwidthMbit: Double, concurrency: Int, minFallback: UInt64, jobs: Int?) {
        let rtt = try rttMs.real("--rtt-ms", 0...3_600_000, unit: "ms")
        let bandwidth = try bandwidthMbit.real("--bandwidth-mbit", 0.001...10_000_000, unit: "Mbit/s")
        let concurrency = try concurrency.integer("--concurrency", 1...1024)
        let minFallback = try minFallbackSize.integer("--min-fallback-size", Limits.sizeMB, unit: "MB")
        let jobs = try jobs?.integer("--jobs", Limits.jobs)
        return (rtt, bandwidth, Int(concurrency), UInt64(minFallback) * 1_000_000, jobs.map(Int.init))
    }

    func run() throws {
        try reportingErrors {
            let sizes = try parseSizes()
            let repo = try repoOptions.open()
            let name = DeltaName(from: try resolve(from, in: repo, role: "FROM"), to: try resolve(to, in: repo, role: "TO"))
            let n = try numbers()
            let model = DownloadModel(rttMs: n.rttMs, bandwidthMbit: n.bandwidthMbit, concurrency: n.concurrency)
            let scratch = try Publishing.makeTemporaryDirectory(in: NSTemporaryDirectory(), prefix: "deltagen-bench")
            defer { try? FileManager.default.removeItem(atPath: scratch) }

            var rows: [BenchRow] = []
            for (i, size) in sizes.enumerated() {
                var options = DeltaOptions()
                // parseSizes keeps each size within Limits.maxMB, so this cannot overflow.
                options.maxChunkSize = max(1, Int(size * 1_000_000))
                options.minFallbackSize = n.minFallback
                options.filename = "\(scratch)/\(i)/superblock"
                if let jobs = n.jobs { options.jobs = jobs }
                try FileManager.default.createDirectory(atPath: "\(scratch)/\(i)", withIntermediateDirectories: true)
                do {
                    _ = try DeltaGenerator(repo: repo, options: options).generate(name)
                } catch {
                    throw CLIError("generating \(name) with --max-chunk-size \(size): \(plainReason(error))")
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
                    throw CLIError("writing \(svg): \(plainReason(error))")
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

    /// What a pull without deltas fetches: every object of TO that FROM lacks, at its stored size.
    private func objectPull(_ repo: Repository, _ name: DeltaName) throws -> ObjectPullCost {
        let needed = try repo.traverse(commit: name.to).subtracting(try repo.traverse(commit: name.from!))
        var bytes: UInt64 = 0
        for object in needed { bytes += try repo.storageSize(of: object) }
        return ObjectPullCost(objects: needed.count, bytes: bytes)
    }

    private func resolve(_ rev: String, in repo: Repository, role: String) throws -> Checksum {
        do { return try repo.resolve(rev) } catch let e as RepositoryError {
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
