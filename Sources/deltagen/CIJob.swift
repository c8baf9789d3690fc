import ArgumentParser
import DeltaFactory
import Foundation

struct CIJob: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ci-job",
        abstract: "Run the factory CI delta job: fetch repos, generate deltas, write delta-stats, reindex.",
        discussion: """
            DELTAS is the CI deltas file: [{"to":[COMMIT,URL],"froms":[[COMMIT,URL],…]}], \
            as `deltagen plan --format deltas` writes it and as the Foundries API passes it to \
            its job. Each URL names a tarball (http://, https:// or file://) of an OSTree \
            repository, at the tarball's root or in one top-level directory such as \
            ostree_repo/; gzip, bzip2, xz and zstd compression are recognised. A commit \
            with an empty or null URL is pulled from --remote-url.

            The job, in order: checks every tarball (HEAD, or stat for file://) before \
            downloading any; downloads --parallel at a time with progress on stderr; \
            extracts each into its own directory and merges it into WORKDIR/ostree_repo \
            with a libostree pull-local, which checksums every object; pulls the URL-less \
            commits; generates each delta, skipping one that already exists and passes \
            `deltagen verify`, and writes `deltagen explain --json` for each delta to \
            ARCHIVE/explain/<from>-<to>.json; refreshes the summary and delta indexes with \
            core.indexed-deltas=true; and last writes ARCHIVE/<to>.json per target commit.

            Each stats file is canonical JSON (sorted keys, no spaces) of \
            {"<to>":{"<from>":{"size":N,"u_size":M}}}, where size and u_size are the Total \
            Size and Total Uncompressed Size of `ostree static-delta show`. An existing file \
            is merged, so froms from an earlier run are kept. The job prints each file's \
            sha256 and length: the value of the Target's custom.delta-stats.

            WORKDIR/ostree_repo is kept between runs; reuse the workdir (or restore it) so a \
            rerun skips finished deltas and the indexes list earlier deltas too. A failure \
            to fetch (exit 3), to generate (1), or to read an earlier stats file (2) stops before the \
            summary, indexes and stats are touched; deltas already finished stay in \
            deltas/, complete, for the next run to reuse.

            --only FROM-TO (repeatable) restricts the job to some pairs of DELTAS and fetches \
            only their tarballs: one fan-out CI job per pair, merged later with \
            `deltagen merge-deltas`. See docs/ci.md.
            """)

    @Option(help: ArgumentHelp("The CI deltas file.", valueName: "DELTAS"))
    var deltas: String

    @Option(help: ArgumentHelp("Work directory; the repository is WORKDIR/ostree_repo.", valueName: "WORKDIR"))
    var workdir: String = "."

    @Option(help: ArgumentHelp("Where the stats files go (default: WORKDIR/archive).", valueName: "ARCHIVE"))
    var archive: String?

    @Option(help: ArgumentHelp("Repository URL for commits that have no tarball URL.", valueName: "URL"))
    var remoteUrl: String?

    @Option(name: .customLong("http-header"), help: ArgumentHelp(
        "Send this header with every HTTP request (repeatable), e.g. OSF-TOKEN=…", valueName: "NAME=VALUE"))
    var httpHeaders: [String] = []

    @Option(help: ArgumentHelp("Download up to N tarballs at once (1–64).", valueName: "N"))
    var parallel: NumberArgument = 4

    @Option(help: ArgumentHelp("Only this pair of DELTAS (repeatable).", valueName: "FROM-TO"))
    var only: [String] = []

    @Option(help: ArgumentHelp(
        "Stop a tarball's download past this many MB (1–\(Limits.maxMB)).",
        discussion: "Per tarball. The default is 4 times the size its HEAD request announced (at least 64 MB more), or 64,000 MB when no size was announced; a body longer than the size its GET announces is refused too.",
        valueName: "MB"))
    var maxDownloadSize: NumberArgument?

    @Option(help: ArgumentHelp(
        "Abandon a request that receives nothing for this many seconds (0–86400; 0: never).",
        valueName: "SECONDS"))
    var downloadStallTimeout: NumberArgument = 300

    @Option(help: ArgumentHelp("Then publish the repository and stats into DEST, as `deltagen publish` does.", valueName: "DEST"))
    var publish: String?

    @Flag(help: "Skip the explain report of each delta (ARCHIVE/explain/), which takes time on big deltas.")
    var noExplain = false

    @OptionGroup var partSize: PartSizeOptions

    @OptionGroup var encoding: EncodingOptions

    func validate() throws { _ = try settings() }

    func settings() throws -> CIJobRunner.Settings {
        var s = CIJobRunner.Settings(deltas: deltas)
        s.workdir = workdir
        s.archive = archive
        s.remoteURL = remoteUrl
        s.httpHeaders = httpHeaders
        s.parallel = Int(try parallel.integer("--parallel", Limits.parallel))
        s.only = only
        s.maxDownloadSize = try maxDownloadSize.map { try $0.integer("--max-download-size", Limits.positiveSizeMB, unit: "MB") * 1_000_000 }
        s.downloadStallTimeout = Double(try downloadStallTimeout.integer("--download-stall-timeout", Limits.seconds, unit: "seconds"))
        s.deltaOptions = try encoding.deltaOptions(partSize: partSize)
        s.explain = !noExplain
        return s
    }

    func run() throws {
        try reportingErrors {
            let job = CIJobRunner(try settings(), output: { print($0) }, log: { line in
                FileHandle.standardError.write(Data("\(line)\n".utf8))
            })
            try job.run()
            if let publish {
                try Publisher(repo: "\(workdir)/ostree_repo", destination: publish, archive: archive ?? "\(workdir)/archive")
                    .run(output: { print($0) })
            }
        }
    }
}
