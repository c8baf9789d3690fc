import DeltaCompiler
import DeltaFormat
import DeltaPlanning
import Foundation
import OSTreeRepo

/// The factory CI delta job: fetch repos, generate deltas, write delta-stats, reindex.
/// `deltagen ci-job` parses its options into `Settings` and runs this.
public struct CIJobRunner {
    public struct Settings {
        /// The CI deltas file.
        public var deltas: String
        /// The repository is `workdir/ostree_repo`.
        public var workdir = "."
        /// Where the stats files go; nil: `workdir/archive`.
        public var archive: String?
        /// Where commits without a tarball URL are pulled from.
        public var remoteURL: String?
        /// NAME=VALUE headers for every HTTP request.
        public var httpHeaders: [String] = []
        /// Tarballs downloaded at once.
        public var parallel = 4
        /// FROM-TO pairs the job is restricted to; empty: all.
        public var only: [String] = []
        /// Per tarball, in bytes; nil: from the announced size.
        public var maxDownloadSize: Int64?
        /// Seconds without a byte before a request is abandoned; 0: never.
        public var downloadStallTimeout: Double = 300
        /// How each delta is generated.
        public var deltaOptions = DeltaOptions()
        /// Write `deltagen explain`'s JSON for each delta to `archive/explain/`.
        public var explain = true

        public init(deltas: String) { self.deltas = deltas }
    }

    public var settings: Settings
    /// Lines for stdout: one per delta, the index refresh, the stats references.
    public var output: (String) -> Void
    /// Lines for stderr: fetch progress and cleanup notes; called from download threads.
    public var log: @Sendable (String) -> Void

    public init(_ settings: Settings, output: @escaping (String) -> Void, log: @escaping @Sendable (String) -> Void) {
        self.settings = settings
        self.output = output
        self.log = log
    }

    public func run() throws {
        let headers = try settings.httpHeaders.map { h -> (String, String) in
            guard let eq = h.firstIndex(of: "="), eq != h.startIndex else {
                throw FactoryError("--http-header \(h): expected NAME=VALUE")
            }
            return (String(h[..<eq]), String(h[h.index(after: eq)...]))
        }
        let requests = try plan()
        let sources = CISources(requests)
        try sources.urls.forEach(TarballFetcher.validate)
        if let remote = settings.remoteURL { try TarballFetcher.validate(remote, what: "--remote-url") }
        if !sources.remoteCommits.isEmpty && settings.remoteURL == nil {
            throw FactoryError("commit \(sources.remoteCommits[0].hex) has no tarball URL, and no --remote-url was given")
        }

        // What a killed run left behind goes first, before anything new is fetched.
        let stale = Scratch.removeStale(in: settings.workdir)
        if stale > 0 { log("removed \(stale) download scratch directories left by killed runs") }
        let repo = try RepositoryAccess.openOrCreate("\(settings.workdir)/ostree_repo")
        let archiveDir = settings.archive ?? "\(settings.workdir)/archive"
        let scratch = try Scratch.create(in: settings.workdir)
        defer { Scratch.remove(scratch) }

        try fetch(sources, into: repo, scratch: scratch, headers: headers)
        let stats = try generate(requests, in: repo, archive: archiveDir)
        // Stats are merged (and a bad existing file found) before anything is published.
        let files = try Publishing.mergedStats(stats, archive: archiveDir)
        try Publishing.finish(repo, stats: files, archive: archiveDir, lock: try Publishing.lock(repo), output: output)
    }

    /// The deltas file's requests, restricted to `only`.
    func plan() throws -> [DeltaRequest] {
        let requests = try DeltasFile.parse(try readInput(settings.deltas), file: settings.deltas)
        return try CIJobRunner.select(requests, only: settings.only, file: settings.deltas)
    }

    static func select(_ requests: [DeltaRequest], only: [String], file: String) throws -> [DeltaRequest] {
        guard !only.isEmpty else { return requests }
        var wanted = Set<DeltaName>()
        for text in only {
            guard let name = DeltaName(text), name.from != nil else { throw FactoryError("--only \(text): expected FROMHEX-TOHEX") }
            guard requests.contains(where: { $0.names.contains(name) }) else {
                throw FactoryError("--only \(text): \(file) has no such pair")
            }
            wanted.insert(name)
        }
        return requests.compactMap { r in
            let froms = r.froms.filter { wanted.contains(DeltaName(from: $0.commit, to: r.to.commit)) }
            return froms.isEmpty ? nil : DeltaRequest(to: r.to, froms: froms)
        }
    }

    private func fetcher(headers: [(String, String)], parallel: Int, directory: String) -> TarballFetcher {
        TarballFetcher(headers: headers, parallel: parallel, directory: directory,
                       maxDownloadSize: settings.maxDownloadSize, stallTimeout: settings.downloadStallTimeout, log: log)
    }

    private func fetch(_ sources: CISources, into repo: Repository, scratch: String, headers: [(String, String)]) throws {
        let missing = try sources.urls.filter { url in try sources.commits(from: url).contains { !(try repo.hasCommit($0)) } }
        if !missing.isEmpty {
            let fetcher = fetcher(headers: headers, parallel: settings.parallel, directory: scratch)
            let total = try fetcher.check(missing)
            log("fetching \(missing.count) tarballs, \(String(format: "%.1f", Double(total) / 1e6)) MB")
            let extracted = try fetcher.fetchAndExtract(missing)
            // Merged one at a time: each pull-local is its own libostree transaction.
            for url in missing {
                do {
                    try repo.pullLocal(from: extracted[url]!, commits: sources.commits(from: url))
                } catch let e as RepositoryError {
                    // A tarball whose objects do not check out is bad input, unless the disk failed.
                    throw FactoryError("merging \(url) into \(repo.path): \(e.message)",
                                       kind: e.failureKind == .storage ? .storage : .badInput)
                }
                try? FileManager.default.removeItem(atPath: extracted[url]!)
            }
        }
        let remote = try sources.remoteCommits.filter { !(try repo.hasCommit($0)) }
        if let remoteURL = settings.remoteURL, !remote.isEmpty {
            log("pulling \(remote.count) commits from \(remoteURL)")
            // libostree would send the headers on across redirects to any host; with headers,
            // an http(s) remote is pulled through OriginProxy, which keeps them at its origin.
            var proxy: OriginProxy?
            if !headers.isEmpty, let scheme = URL(string: remoteURL)?.scheme?.lowercased(), ["http", "https"].contains(scheme) {
                proxy = try OriginProxy(remote: remoteURL,
                                        fetcher: fetcher(headers: headers, parallel: 1, directory: settings.workdir))
            }
            defer { proxy?.stop() }
            do {
                try repo.pull(fromURL: proxy?.localURL ?? remoteURL, commits: remote, headers: proxy == nil ? headers : [])
            } catch let e as RepositoryError {
                throw FactoryError("pulling from \(remoteURL): \(proxy?.unproxied(e.message) ?? e.message)",
                                   kind: e.failureKind == .storage ? .storage : .network)
            }
        }
        for commit in sources.allCommits where !(try repo.hasCommit(commit)) {
            throw FactoryError("commit \(commit.hex) is not in the repository after fetching")
        }
    }

    private func generate(_ requests: [DeltaRequest], in repo: Repository, archive: String) throws -> DeltaStats {
        let generator = DeltaGenerator(repo: repo, options: settings.deltaOptions)
        var stats = DeltaStats()
        let names = requests.flatMap(\.names)
        for (i, name) in names.enumerated() {
            let location = DeltaLocation(repoPath: repo.path, name: name)
            let label = "[\(i + 1)/\(names.count)] \(name)"
            if FileManager.default.fileExists(atPath: location.superblockPath) {
                if let existing = Publishing.verified(location, repo: repo) {
                    output("\(label): exists and verifies, kept")
                    stats[from: name.from!, to: name.to] = Publishing.statsEntry(existing)
                    try explain(name, label: label, repo: repo, archive: archive, kept: existing.totalSize)
                    continue
                }
                output("\(label): exists but does not verify, regenerating")
            }
            let report: DeltaReport
            do {
                report = try generator.generate(name)
            } catch {
                throw FactoryError("generating \(name): \(plainReason(error))", causedBy: error, fallback: .deltaWork)
            }
            // generate() verified the delta before publishing it; this reads its totals.
            guard let inspection = try? location.inspect() else {
                throw FactoryError.deltaWork("the new delta \(name) does not read back cleanly")
            }
            output("\(label): \(report.parts) parts, \(report.fallbacks) fallbacks, \(report.totalBytes) bytes")
            stats[from: name.from!, to: name.to] = Publishing.statsEntry(inspection)
            try explain(name, label: label, repo: repo, archive: archive)
        }
        return stats
    }

    /// A kept delta keeps its report when the one in `archive` still explains it: a rerun
    /// does not explain every earlier delta again.
    private func explain(_ name: DeltaName, label: String, repo: Repository, archive: String,
                         kept totalSize: UInt64? = nil) throws {
        guard settings.explain else { return }
        if let totalSize, (try? ExplainReports.stored(in: archive, for: name, totalBytes: totalSize)) != nil {
            return
        }
        output("\(label): explained in \(try ExplainReports.write(name, repo: repo, archive: archive))")
    }
}

/// Where each commit of a deltas file comes from.
struct CISources {
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
