import ArgumentParser
import DeltaCompiler
import DeltaFormat

extension FallbackPolicy: ExpressibleByArgument {}

/// `--max-chunk-size`, shared by generate-delta and ci-job; bench-parts tries a list instead.
struct PartSizeOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Target uncompressed size of a part, in MB (1–\(Limits.maxMB)).",
        discussion: "A new part starts before an object whose size would take the part past this. Sizes are the objects' own, known before encoding, so a part of patches can end up a few percent larger, as ostree's parts do.",
        valueName: "MB"))
    var maxChunkSize: NumberArgument = 32

    func validate() throws { _ = try bytes() }

    func bytes() throws -> Int {
        Int(try maxChunkSize.integer("--max-chunk-size", Limits.positiveSizeMB, unit: "MB")) * 1_000_000
    }
}

/// Every other size and encoding option of a delta, shared by generate-delta, ci-job and
/// bench-parts so that each means the same everywhere.
struct EncodingOptions: ParsableArguments {
    @Option(help: ArgumentHelp("New files whose object is larger than this many MB become fallbacks; 0 disables fallbacks (0–\(Limits.maxMB)).", valueName: "MB"))
    var minFallbackSize: NumberArgument = 4

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

    func validate() throws { _ = try deltaOptions(partSize: nil) }

    /// The one place `DeltaOptions` is built from the command line: each number checked
    /// against the range its help states, sizes in bytes. Every MB limit is at most
    /// Limits.maxMB, so its byte count fits in 64 bits.
    func deltaOptions(partSize: PartSizeOptions?) throws -> DeltaOptions {
        var options = DeltaOptions()
        if let partSize { options.maxChunkSize = try partSize.bytes() }
        options.minFallbackSize = UInt64(try minFallbackSize.integer("--min-fallback-size", Limits.sizeMB, unit: "MB")) * 1_000_000
        options.maxBsdiffSize = UInt64(try maxBsdiffSize.integer("--max-bsdiff-size", Limits.sizeMB, unit: "MB")) * 1_000_000
        if let jobs = try jobs?.integer("--jobs", Limits.jobs) { options.jobs = Int(jobs) }
        options.bsdiffEnabled = !(disableBsdiff || literalOnly)
        options.rollsumEnabled = !(disableRollsum || literalOnly)
        options.fallbackPolicy = fallbackPolicy
        let dict = try xzDictSize.integer("--xz-dict-size", 1...64, unit: "MiB")
        options.xzSettings = XZ.Settings(preset: XZ.defaultPreset | (xzExtreme ? XZ.extremeFlag : 0),
                                         dictionarySize: UInt32(dict) << 20)
        let stall = try stallTimeout.real("--stall-timeout", 0...86_400, unit: "seconds")
        options.stallTimeout = stall > 0 ? stall : nil
        if let memory = try memoryLimit?.integer("--memory-limit", Limits.positiveSizeMB, unit: "MB") {
            options.memoryLimit = UInt64(memory) * 1_000_000
        }
        return options
    }
}
