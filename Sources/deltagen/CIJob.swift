import ArgumentParser
import DeltaCompiler
import DeltaFormat
import DeltaPlanning
import Foundation
import OSTreeRepo

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
            `deltagen verify`; refreshes \
            the summary and delta indexes with core.indexed-deltas=true; and last writes \
            ARCHIVE/<to>.json per target commit.

            Each stats file is canonical JSON (sorted keys, no spaces) of \
            {"<to>":{"<from>":{"size":N,"u_size":M}}}, where size and u_size are the Total \
            Size and Total Uncompressed Size of `ostree static-delta show`. An existing file \
            is merged, so froms from an earlier run are kept. The job prints each file's \
            sha256 and length: the value of the Target's custom.delta-stats.

            WORKDIR/ostree_repo is kept between runs; reuse the workdir (or restore it) so a \
            rerun skips finished deltas and the indexes list earlier deltas too. A failure \
            to fetch, to generate, or to read an earlier stats file exits 1 before the \
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

    @Option(help: ArgumentHelp("As for generate-delta (0–\(Limits.maxMB)).", valueName: "MB"))
    var minFallbackSize: NumberArgument = 4

    @Option(help: ArgumentHelp("As for generate-delta (1–\(Limits.maxMB)).", valueName: "MB"))
    var maxChunkSize: NumberArgument = 32

    @Option(help: ArgumentHelp("Encode objects on N threads and compress up to N parts at once (1–256; default: the number of cores).", valueName: "N"))
    var jobs: NumberArgument?

    func validate() throws {
        _ = try parallel.integer("--parallel", Limits.parallel)
        _ = try maxDownloadSize?.integer("--max-download-size", Limits.positiveSizeMB, unit: "MB")
        _ = try downloadStallTimeout.integer("--download-stall-timeout", Limits.seconds, unit: "seconds")
        _ = try minFallbackSize.integer("--min-fallback-size", Limits.sizeMB, unit: "MB")
        _ = try maxChunkSize.integer("--max-chunk-size", Limits.positiveSizeMB, unit: "MB")
        _ = try jobs?.integer("--jobs", Limits.jobs)
    }

    func run() throws {
        try reportingErrors {
            let headers = try httpHeaders.map { h -> (String, String) in
                guard let eq = h.firstIndex(of: "="), eq != h.startIndex else {
                    throw CLIError("--http-header \(h): expected NAME=VALUE")
                }
                return (String(h[..<eq]), String(h[h.index(after: eq)...]))
            }
            var requests = try DeltasFile.parse(try readInput(deltas), file: deltas)
            requests = try select(requests)
            let sources = Sources(requests)
            try sources.urls.forEach(TarballFetcher.validate)
            if let remoteUrl { try TarballFetcher.validate(remoteUrl, what: "--remote-url") }
            if !sources.remoteCommits.isEmpty && remoteUrl == nil {
                throw CLIError("commit \(sources.remoteCommits[0].hex) has no tarball URL, and no --remote-url was given")
            }

            // What a killed run left behind goes first, before anything new is fetched.
            let stale = Scratch.removeStale(in: workdir)
            if stale > 0 { FileHandle.standardError.write(Data("removed \(stale) download scratch directories left by killed runs\n".utf8)) }
            let repo = try Publishing.openOrCreate("\(workdir)/ostree_repo")
            let archiveDir = archive ?? "\(workdir)/archive"
            let scratch = try Scratch.create(in: workdir)
            defer { Scratch.remove(scratch) }

            try fetch(sources, into: repo, scratch: scratch, headers: headers)
            let stats = try generate(requests, in: repo)
            // Stats are merged (and a bad existing file found) before anything is published.
            let files = try Publishing.mergedStats(stats, archive: archiveDir)
            try Publishing.refreshIndexes(repo)
            try Publishing.writeStats(files, archive: archiveDir)
        }
    }

    private func select(_ requests: [DeltaRequest]) throws -> [DeltaRequest] {
        guard !only.isEmpty else { return requests }
        var wanted = Set<DeltaName>()
        for text in only {
            guard let name = DeltaName(text), name.from != nil else { throw CLIError("--only \(text): expected FROMHEX-TOHEX") }
            guard requests.contains(where: { $0.names.contains(name) }) else {
                throw CLIError("--only \(text): \(deltas) has no such pair")
            }
            wanted.insert(name)
        }
        return requests.compactMap { r in
            let froms = r.froms.filter { wanted.contains(DeltaName(from: $0.commit, to: r.to.commit)) }
            return froms.isEmpty ? nil : DeltaRequest(to: r.to, froms: froms)
        }
    }

    private func fetch(_ sources: Sources, into repo: Repository, scratch: String, headers: [(String, String)]) throws {
        let missing = try sources.urls.filter { url in try sources.commits(from: url).contains { !(try repo.hasCommit($0)) } }
        if !missing.isEmpty {
            let fetcher = TarballFetcher(
                headers: headers, parallel: Int(try parallel.integer("--parallel", Limits.parallel)), directory: scratch,
                maxDownloadSize: try maxDownloadSize.map { try $0.integer("--max-download-size", Limits.positiveSizeMB) * 1_000_000 },
                stallTimeout: Double(try downloadStallTimeout.integer("--download-stall-timeout", Limits.seconds)))
            let total = try fetcher.check(missing)
            fetcher.log("fetching \(missing.count) tarballs, \(String(format: "%.1f", Double(total) / 1e6)) MB")
            let extracted = try fetcher.fetchAndExtract(missing)
            // Merged one at a time: each pull-local is its own libostree transaction.
            for url in missing {
                do {
                    try repo.pullLocal(from: extracted[url]!, commits: sources.commits(from: url))
                } catch let e as RepositoryError {
                    throw CLIError("merging \(url) into \(repo.path): \(e.message)")
                }
                try? FileManager.default.removeItem(atPath: extracted[url]!)
            }
        }
        let remote = try sources.remoteCommits.filter { !(try repo.hasCommit($0)) }
        if let remoteUrl, !remote.isEmpty {
            FileHandle.standardError.write(Data("pulling \(remote.count) commits from \(remoteUrl)\n".utf8))
            // libostree would send the headers on across redirects to any host; with headers,
            // an http(s) remote is pulled through OriginProxy, which keeps them at its origin.
            var proxy: OriginProxy?
            if !headers.isEmpty, let scheme = URL(string: remoteUrl)?.scheme?.lowercased(), ["http", "https"].contains(scheme) {
                proxy = try OriginProxy(remote: remoteUrl, fetcher: TarballFetcher(
                    headers: headers, parallel: 1, directory: workdir,
                    maxDownloadSize: try maxDownloadSize.map { try $0.integer("--max-download-size", Limits.positiveSizeMB) * 1_000_000 },
                    stallTimeout: Double(try downloadStallTimeout.integer("--download-stall-timeout", Limits.seconds))))
            }
            defer { proxy?.stop() }
            do {
                try repo.pull(fromURL: proxy?.localURL ?? remoteUrl, commits: remote, headers: proxy == nil ? headers : [])
            } catch let e as RepositoryError {
                throw CLIError("pulling from \(remoteUrl): \(proxy?.unproxied(e.message) ?? e.message)")
            }
        }
        for commit in sources.allCommits where !(try repo.hasCommit(commit)) {
            throw CLIError("commit \(commit.hex) is not in the repository after fetching")
        }
    }

    private func generate(_ requests: [DeltaRequest], in repo: Repository) throws -> DeltaStats {
        var options = DeltaOptions()
        // validate() keeps each size within Limits.maxMB, so the byte counts fit.
        options.minFallbackSize = UInt64(try minFallbackSize.integer("--min-fallback-size", Limits.sizeMB)) * 1_000_000
        options.maxChunkSize = Int(try maxChunkSize.integer("--max-chunk-size", Limits.positiveSizeMB)) * 1_000_000
        if let jobs { options.jobs = Int(try jobs.integer("--jobs", Limits.jobs)) }
        let generator = DeltaGenerator(repo: repo, options: options)
        var stats = DeltaStats()
        let names = requests.flatMap(\.names)
        for (i, name) in names.enumerated() {
            let location = DeltaLocation(repoPath: repo.path, name: name)
            let label = "[\(i + 1)/\(names.count)] \(name)"
            if FileManager.default.fileExists(atPath: location.superblockPath) {
                if let existing = Publishing.verified(location, repo: repo) {
                    print("\(label): exists and verifies, kept")
                    stats[from: name.from!, to: name.to] = Publishing.statsEntry(existing)
                    continue
                }
                print("\(label): exists but does not verify, regenerating")
            }
            let report: DeltaReport
            do {
                report = try generator.generate(name)
            } catch {
                throw CLIError("generating \(name): \(plainReason(error))")
            }
            // generate() verified the delta before publishing it; this reads its totals.
            guard let inspection = try? location.inspect() else {
                throw CLIError("the new delta \(name) does not read back cleanly")
            }
            print("\(label): \(report.parts) parts, \(report.fallbacks) fallbacks, \(report.totalBytes) bytes")
            stats[from: name.from!, to: name.to] = Publishing.statsEntry(inspection)
        }
        return stats
    }
}

/// Where each commit of a deltas file comes from.
private struct Sources {
    /// Unique tarball URLs, in file order.
    var urls: [String] = []
    /// Each commit is pulled from the first URL listed with it.
    var origin: [Checksum: String] = [:]
    var remoteCommits: [Checksum] = []
    var allCommits: [Checksum] = []

    init(_ requests: [DeltaRequest]) {
        let all = requests.flatMap { [$0.to] + $0.froms }
        for source in all where source.hasTarball {
            if !urls.contains(source.url) { urls.append(source.url) }
            if origin[source.commit] == nil { origin[source.commit] = source.url }
        }
        for source in all where !allCommits.contains(source.commit) {
            allCommits.append(source.commit)
            if origin[source.commit] == nil { remoteCommits.append(source.commit) }
        }
    }

    func commits(from url: String) -> [Checksum] {
        allCommits.filter { origin[$0] == url }
    }
}
