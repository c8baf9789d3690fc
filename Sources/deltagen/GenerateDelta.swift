import ArgumentParser
import DeltaCompiler
import DeltaFormat
import Foundation
import OSTreeRepo

extension FallbackPolicy: ExpressibleByArgument {}

struct GenerateDelta: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate-delta",
        abstract: "Generate a static delta between two commits, or from scratch.",
        discussion: """
            FROM and TO are refs or full 64-hex commit checksums. With --empty the delta \
            carries all of TO and applies to a repository that has nothing yet. With TO alone, \
            FROM is TO's parent, as in `ostree static-delta generate`.

            Every object reachable from TO and not from FROM goes into the delta. New regular \
            files larger than --min-fallback-size become fallback entries, which a client \
            fetches loose from an archive repository; use --min-fallback-size 0 for a \
            self-contained delta that `ostree static-delta apply-offline` accepts.

            The delta is built in the repository's tmp/ and renamed into deltas/ only when it \
            is complete, so a crash or an error never leaves a partial delta visible. After \
            publishing deltas, run `ostree summary -u` so that clients find them.

            The superblock timestamp is TO's commit time unless --timestamp is given, so the \
            same inputs give byte-identical files.
            """)

    @OptionGroup var repoOptions: RepoOptions

    @Argument(help: ArgumentHelp("The commit to delta from (omit with --empty).", valueName: "FROM"))
    var from: String?

    @Argument(help: ArgumentHelp("The commit to delta to.", valueName: "TO"))
    var to: String?

    @Flag(help: "Generate a from-scratch delta containing all of TO.")
    var empty = false

    @Option(help: ArgumentHelp("New files whose object is larger than this many MB become fallbacks; 0 disables fallbacks (0–\(Limits.maxMB)).", valueName: "MB"))
    var minFallbackSize: NumberArgument = 4

    @Option(help: ArgumentHelp(
        "Target uncompressed size of a part, in MB (1–\(Limits.maxMB)).",
        discussion: "A new part starts before an object whose size would take the part past this. Sizes are the objects' own, known before encoding, so a part of patches can end up a few percent larger, as ostree's parts do.",
        valueName: "MB"))
    var maxChunkSize: NumberArgument = 32

    @Flag(help: "Never encode modified files with bsdiff.")
    var disableBsdiff = false

    @Flag(help: "Never encode modified files by copying chunks of the old file (rollsum).")
    var disableRollsum = false

    @Flag(help: ArgumentHelp(
        "Store every object whole (only S ops), for clients whose repository is in archive mode.",
        discussion: "ostree can apply bsdiff and rollsum ops only into bare and bare-user repositories; an archive-mode client aborts on them."))
    var literalOnly = false

    @Option(help: ArgumentHelp("Try bsdiff only when old plus new size is at most this many MB (0–\(Limits.maxMB)).", valueName: "MB"))
    var maxBsdiffSize: NumberArgument = 128

    @Option(help: ArgumentHelp(
        "What to do with new files above --min-fallback-size: 'auto' ships one in a part when xz makes it clearly smaller than the zlib object a client would fetch, 'always' makes every one a fallback as ostree does.",
        valueName: "POLICY"))
    var fallbackPolicy: FallbackPolicy = .auto

    @Flag(help: ArgumentHelp(
        "Compress parts with xz's extreme mode (preset 8e): smaller parts, about 2.4× the compression CPU.",
        discussion: "The default is ostree's preset 8. Both decode in the same memory."))
    var xzExtreme = false

    @Option(help: ArgumentHelp(
        "xz dictionary size for parts, in MiB (1–64).",
        discussion: """
            The default, 8, keeps ostree's preset 8 but with a smaller dictionary: each part \
            encoder then needs 94 MiB instead of 370 MiB, so parts compress in parallel, and a \
            client decodes a part in about 9 MiB. Use 32 for ostree's exact xz settings, which \
            can make from-scratch deltas about 1% smaller.
            """,
        valueName: "MiB"))
    var xzDictSize = NumberArgument(integerLiteral: Int(XZ.Settings.defaultDictionarySize >> 20))

    @Flag(inversion: .prefixedNo, help: ArgumentHelp(
        "Replay the finished delta against the repository (as `deltagen verify` does) before publishing it.",
        discussion: "On by default; a delta that fails is not published."))
    var verify = true

    @Flag(help: "Store the parts inside the superblock instead of as separate files.")
    var inline = false

    @Option(help: ArgumentHelp("Write the superblock to PATH instead of the repository's deltas/; part files go beside it.", valueName: "PATH"))
    var filename: String?

    @Flag(name: [.customShort("n"), .customLong("if-not-exists")], help: "Do nothing if the repository already has this delta.")
    var ifNotExists = false

    @Option(help: ArgumentHelp("Superblock timestamp in Unix seconds, 0–\(Int64.max) (default: TO's commit time).", valueName: "SECONDS"))
    var timestamp: NumberArgument?

    @Option(help: ArgumentHelp("Encode objects on N threads and compress up to N parts at once (1–256; default: the number of cores).", valueName: "N"))
    var jobs: NumberArgument?

    @Option(help: ArgumentHelp(
        "Keep peak memory under this many MB, from 1 to 9223372036854 (default: the cgroup's memory.max, if any).",
        discussion: "deltagen computes what it needs from its settings and the sizes of the files it will diff (docs/design.md, \"Memory\"), runs fewer jobs if that is needed to fit, and says so. If even one job would not fit, it stops before encoding with one line. Fewer jobs never change the delta's bytes.",
        valueName: "MB"))
    var memoryLimit: NumberArgument?

    @Option(help: ArgumentHelp(
        "Give up after this many seconds without progress, from 0 to 86400 (default 600; 0: never).",
        discussion: "Progress is any object encoded or slice of a part compressed. The longest single step, one bsdiff of at most --max-bsdiff-size, takes a minute or two, so only a run that is truly stuck reaches the limit. It then prints one line naming the stage, publishes nothing, and exits 1.",
        valueName: "SECONDS"))
    var stallTimeout: NumberArgument = 600

    @Flag(help: "Print the summary as one JSON object.")
    var json = false

    @Flag(name: [.short, .long], help: "Print nothing but errors: no progress and no summary.")
    var quiet = false

    func validate() throws {
        if empty && to != nil { throw ValidationError("Cannot specify both --empty and FROM") }
        if from == nil { throw ValidationError("TO revision must be specified") }
        _ = try sizes()
        if let filename, filename.isEmpty || filename.hasSuffix("/") {
            throw ValidationError("--filename must name a file, not a directory")
        }
    }

    func run() throws {
        try reportingErrors {
            let repo = try repoOptions.open()
            // One positional argument is TO; two are FROM TO.
            let toRev = to ?? from!
            let fromRev: String? = empty ? nil : (to == nil ? "\(toRev)^" : from)
            let name = DeltaName(from: try fromRev.map { try resolve($0, in: repo, role: "FROM") },
                                 to: try resolve(toRev, in: repo, role: "TO"))
            var options = DeltaOptions()
            let checked = try sizes()
            options.minFallbackSize = checked.minFallback
            options.maxChunkSize = checked.maxChunk
            options.inline = inline
            options.filename = filename
            options.ifNotExists = ifNotExists
            options.timestamp = checked.timestamp
            if let jobs = checked.jobs { options.jobs = jobs }
            options.bsdiffEnabled = !(disableBsdiff || literalOnly)
            options.rollsumEnabled = !(disableRollsum || literalOnly)
            options.maxBsdiffSize = checked.maxBsdiff
            options.fallbackPolicy = fallbackPolicy
            options.verify = verify
            options.stallTimeout = checked.stallTimeout > 0 ? checked.stallTimeout : nil
            options.memoryLimit = checked.memoryLimit
            let printer = quiet ? nil : ProgressPrinter()
            if let printer { options.progress = { printer.handle($0) } }
            defer { printer?.finish() }
            options.xzSettings = XZ.Settings(preset: XZ.defaultPreset | (xzExtreme ? XZ.extremeFlag : 0),
                                             dictionarySize: checked.xzDictMiB << 20)

            let report: DeltaReport
            do {
                report = try DeltaGenerator(repo: repo, options: options).generate(name)
            } catch GenerateError.alreadyExists(let existing) {
                if !quiet { print("Delta \(existing) already exists.") }
                return
            }
            printer?.finish()
            if quiet { return }
            if json {
                try printJSON(report)
            } else {
                printSummary(report)
            }
        }
    }

    /// The numeric options, each checked against the range its help states; sizes in bytes.
    /// Every MB limit is at most Limits.maxMB, so its byte count fits in 64 bits.
    private func sizes() throws -> (minFallback: UInt64, maxChunk: Int, maxBsdiff: UInt64, timestamp: UInt64?,
                                    jobs: Int?, xzDictMiB: UInt32, stallTimeout: Double, memoryLimit: UInt64?) {
        let minFallback = try minFallbackSize.integer("--min-fallback-size", Limits.sizeMB, unit: "MB")
        let maxChunk = try maxChunkSize.integer("--max-chunk-size", Limits.positiveSizeMB, unit: "MB")
        let maxBsdiff = try maxBsdiffSize.integer("--max-bsdiff-size", Limits.sizeMB, unit: "MB")
        let stamp = try timestamp?.integer("--timestamp", Limits.timestamp, unit: "seconds")
        let jobs = try jobs?.integer("--jobs", Limits.jobs)
        let dict = try xzDictSize.integer("--xz-dict-size", 1...64, unit: "MiB")
        let stall = try stallTimeout.real("--stall-timeout", 0...86_400, unit: "seconds")
        let memory = try memoryLimit?.integer("--memory-limit", Limits.positiveSizeMB, unit: "MB")
        return (UInt64(minFallback) * 1_000_000, Int(maxChunk) * 1_000_000, UInt64(maxBsdiff) * 1_000_000,
                stamp.map(UInt64.init), jobs.map(Int.init), UInt32(dict), stall, memory.map { UInt64($0) * 1_000_000 })
    }

    private func resolve(_ rev: String, in repo: Repository, role: String) throws -> Checksum {
        do {
            return try repo.resolve(rev)
        } catch let e as RepositoryError {
            throw CLIError("cannot resolve \(role) \(rev): \(e.message)")
        }
    }

    private func printSummary(_ r: DeltaReport) {
        print("Generated static delta \(r.name)")
        print("  superblock: \(r.superblockPath)\(r.inline ? " (parts inline)" : "")")
        print("  parts: \(r.parts), \(r.partBytes) bytes compressed, \(r.partUncompressedBytes) bytes uncompressed")
        print("  fallbacks: \(r.fallbacks), \(r.fallbackBytes) bytes, \(r.fallbackUncompressedBytes) bytes uncompressed")
        print("  objects: \(r.objects) in parts (\(r.bsdiffObjects) bsdiff, \(r.rollsumObjects) rollsum)")
        print("  total: \(r.totalBytes) bytes (\(r.totalUncompressedBytes) uncompressed)")
        print("  elapsed: \(String(format: "%.2f", r.elapsedSeconds)) s")
    }
}
