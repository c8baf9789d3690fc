import DeltaCompiler
import DeltaFormat
import DeltaPlanning
import Foundation
import OSTreeRepo

/// `prune`: removes the deltas whose from-commit no device needs any more, with their
/// delta-stats entries and index entries, and refreshes the summary. Commits, objects and
/// from-scratch deltas are never touched.
///
/// The doomed deltas leave the delta indexes first (rewritten through a temporary file and a
/// rename), so no client is sent to a superblock that is gone; then each delta goes
/// superblock first, then its parts and directory; then the stats files are rewritten the
/// same way, and the summary last. All of it under the publish lock.
public struct Pruner {
    public var repo: String
    /// From-commits whose deltas stay.
    public var keep: Set<Checksum>
    /// Stats directories whose `<to>.json` files lose the removed entries.
    public var statsDirectories: [String]

    public init(repo: String, keep: Set<Checksum>, statsDirectories: [String]) {
        self.repo = repo
        self.keep = keep
        self.statsDirectories = statsDirectories
    }

    /// The deltas that would go, sorted by name.
    public func plan() throws -> [DeltaName] {
        try RepositoryAccess.checkReadable(repo)
        return try DeltaIndexes.deltaNames(repo).filter { name in
            guard let from = name.from else { return false }
            return !keep.contains(from)
        }.sorted { $0.description < $1.description }
    }

    /// Prints the plan (dry run) or carries it out; returns the deltas removed.
    @discardableResult
    public func run(dryRun: Bool, output: (String) -> Void) throws -> [DeltaName] {
        let doomed = try plan()
        let stats = try statsFiles(removing: doomed)
        if dryRun {
            for name in doomed { output("would remove delta \(name)") }
            for file in stats { output("would rewrite \(file.path)") }
            output("Dry run: \(doomed.count) deltas would be removed, \(keep.count) from-commits kept")
            return doomed
        }
        let repository = try RepositoryAccess.open(repo)
        let lock = try Publishing.lock(repository)
        defer { lock.release() }
        // Out of the indexes first: an index naming a delta whose superblock is gone makes a
        // client's pull fail instead of finding no delta (see Publisher.withdrawReplacedDeltas).
        if !doomed.isEmpty { try DeltaIndexes.write(repoPath: repo, excluding: Set(doomed)) }
        for name in doomed {
            TestDelay.pause()
            try remove(name)
            output("removed delta \(name)")
        }
        for file in stats {
            try FactoryFiles.writeAtomically(file.bytes, to: file.path)
            output("rewrote \(file.path)")
        }
        try Publishing.refreshIndexes(repository, output: output)
        output("Pruned \(doomed.count) deltas from \(repo)")
        return doomed
    }

    /// Superblock, then parts, then the directory, each step made durable before the next.
    private func remove(_ name: DeltaName) throws {
        let dir = "\(repo)/\(name.relativePath)"
        if unlink("\(dir)/superblock") != 0 && errno != ENOENT {
            throw FactoryError("cannot remove \(dir)/superblock: \(posixReason(errno))", kind: .storage)
        }
        Publisher.syncDirectory(dir)
        TestDelay.pause()
        for file in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] {
            if unlink("\(dir)/\(file)") != 0 && errno != ENOENT {
                throw FactoryError("cannot remove \(dir)/\(file): \(posixReason(errno))", kind: .storage)
            }
        }
        if rmdir(dir) != 0 && errno != ENOENT {
            throw FactoryError("cannot remove \(dir): \(posixReason(errno))", kind: .storage)
        }
        Publisher.syncDirectory((dir as NSString).deletingLastPathComponent)
    }

    /// The stats files that held an entry for a removed delta, without those entries. Read
    /// before anything is removed, so a damaged file stops the prune with nothing changed.
    private func statsFiles(removing doomed: [DeltaName]) throws -> [Publishing.StatsFile] {
        var files: [Publishing.StatsFile] = []
        for directory in statsDirectories {
            for to in Set(doomed.map(\.to)).sorted() {
                let path = "\(directory)/\(to.hex).json"
                guard FileManager.default.fileExists(atPath: path) else { continue }
                var stats = try DeltaStats(json: try readInput(path), file: path)
                var changed = false
                for name in doomed where name.to == to {
                    if let from = name.from, stats[from: from, to: to] != nil {
                        stats.entries[to]?[from] = nil
                        changed = true
                    }
                }
                if changed { files.append(Publishing.StatsFile(to: to, path: path, bytes: stats.canonicalBytes())) }
            }
        }
        return files
    }
}

/// Which from-commits devices still need: explicit versions or commits, or the versions a
/// status file says devices run, mapped to commits through targets.json as `plan` does.
public enum PruneInputs {
    /// `keepFrom`: versions (CI build numbers) or 64-hex commits. `status`/`tag`: every
    /// non-orphan version of tag `tag` (or of every tag), in the CI and production lists, as
    /// `plan --by-tag` reads them. Versions need `targets`; every Target of a version counts.
    public static func keptCommits(keepFrom: [String], status: FleetStatus?, tag: String?,
                                   targets: TargetsFile?) throws -> Set<Checksum> {
        var versions: [Int] = []
        var commits = Set<Checksum>()
        for value in keepFrom {
            if let commit = Checksum(hex: value), value.count == 64 {
                commits.insert(commit)
            } else if let version = Int(value) {
                versions.append(version)
            } else {
                throw FactoryError("--keep-from \(value): expected a version number or a 64-hex commit")
            }
        }
        if let status {
            let lists = status.tags + status.prodTags
            let chosen = tag.map { t in lists.filter { $0.name == t } } ?? lists
            if let tag, chosen.isEmpty { throw PlanError.unknownTag(tag) }
            versions += chosen.flatMap(\.targets).filter { !$0.isOrphan }.map(\.version)
        }
        if !versions.isEmpty {
            guard let targets else {
                throw FactoryError("--targets FILE is needed to map versions to commits")
            }
            for version in Set(versions).sorted() {
                let matching = targets.targets.filter { $0.versionNumber == version }
                // A version devices run that has no Target cannot be mapped: refusing beats
                // removing the delta those devices need.
                guard !matching.isEmpty else {
                    throw FactoryError("version \(version) has no Target in targets.json; refusing to prune")
                }
                matching.forEach { commits.insert($0.commit) }
            }
        }
        guard !commits.isEmpty else {
            throw FactoryError("no from-commit to keep; refusing to remove every delta")
        }
        return commits
    }
}
