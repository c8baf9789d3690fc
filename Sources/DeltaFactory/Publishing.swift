import DeltaCompiler
import DeltaFormat
import DeltaPlanning
import Foundation
import OSTreeRepo

/// The publish steps that `ci-job` and `merge-deltas` share: reading deltas back, keeping
/// delta-stats, and refreshing what clients read. Every change to the repository goes
/// through `StagingDirectory` (deltas) or `AtomicFile` (stats), and under its `PublishLock`.
public enum Publishing {
    /// Reads back a delta that passes every `deltagen verify` check, for its stats; nil when
    /// any check fails, so the caller regenerates it.
    public static func verified(_ location: DeltaLocation, repo: Repository) -> DeltaInspection? {
        guard DeltaVerifier(repo: repo).verify(location).allSatisfy(\.passed) else { return nil }
        return try? location.inspect()
    }

    /// The stats entry for a delta: Total Size and Total Uncompressed Size as
    /// `ostree static-delta show` prints them.
    public static func statsEntry(_ inspection: DeltaInspection) -> DeltaStats.Entry {
        DeltaStats.Entry(size: inspection.totalSize, uSize: inspection.totalUncompressedSize)
    }

    /// One stats file to write: `<archive>/<to>.json`.
    public struct StatsFile: Sendable {
        public var to: Checksum
        public var path: String
        public var bytes: [UInt8]
    }

    /// Merges `fresh` into the stats files in `archive`, one `<to>.json` per target commit, and
    /// returns the files to write. Existing files are read first, so a rerun with other froms
    /// keeps the earlier ones; a file that cannot be read stops the job instead of being
    /// overwritten.
    public static func mergedStats(_ fresh: DeltaStats, archive: String) throws -> [StatsFile] {
        // An --archive that cannot become a directory is found now, before anything is published.
        var st = stat()
        if lstat(archive, &st) == 0, st.st_mode & S_IFMT != S_IFDIR {
            if stat(archive, &st) != 0 || st.st_mode & S_IFMT != S_IFDIR {
                throw FactoryError("the stats directory \(archive) exists and is not a directory")
            }
        }
        var files: [StatsFile] = []
        for to in fresh.entries.keys.sorted() {
            let path = "\(archive)/\(to.hex).json"
            var stats = DeltaStats()
            if FileManager.default.fileExists(atPath: path) {
                stats = try DeltaStats(json: try readInput(path), file: path)
            }
            stats.merge(fresh.restricted(to: to))
            files.append(StatsFile(to: to, path: path, bytes: stats.canonicalBytes()))
        }
        return files
    }

    /// Writes each stats file atomically (temp file, fsync, rename, fsync of the directory)
    /// and reports its reference through `output`.
    public static func writeStats(_ files: [StatsFile], archive: String, output: (String) -> Void) throws {
        try FactoryFiles.createDirectory(archive, what: "the stats directory")
        for file in files {
            try FactoryFiles.writeAtomically(file.bytes, to: file.path)
            let ref = DeltaStats.reference(for: file.bytes)
            output("delta-stats \(file.path): sha256 \(ref.sha256), \(ref.size) bytes")
            output("  custom.delta-stats for Targets with commit \(file.to.hex): \(ref.json)")
        }
    }

    /// Sets `core.indexed-deltas=true`, rewrites every delta index and the summary, through
    /// libostree. Clients only see new deltas after this. The caller holds the publish lock.
    public static func refreshIndexes(_ repo: Repository, output: (String) -> Void) throws {
        do {
            try repo.enableIndexedDeltas()
            // Our indexes, sorted, before and after the summary: libostree may reindex in
            // its own order while it writes the summary (see DeltaIndexes).
            try DeltaIndexes.write(repoPath: repo.path)
            try repo.regenerateSummary()
            try DeltaIndexes.write(repoPath: repo.path)
        } catch let e as RepositoryError {
            throw FactoryError("refreshing the summary and delta indexes of \(repo.path): \(e.message)",
                               kind: e.failureKind == .badInput ? .deltaWork : e.failureKind)
        }
        let deltas = try repo.listDeltas()
        let targets = Set(deltas.map(\.to)).count
        output("Refreshed the summary and delta indexes: \(deltas.count) deltas to \(targets) commits")
    }

    /// The last step of ci-job and merge-deltas, under the publish lock: indexes and summary,
    /// then the stats files.
    public static func finish(_ repo: Repository, stats: [StatsFile], archive: String, lock: PublishLock,
                              output: (String) -> Void) throws {
        try withExtendedLifetime(lock) {
            try refreshIndexes(repo, output: output)
            try writeStats(stats, archive: archive, output: output)
        }
    }

    /// The repository's publish lock, with a message naming the repository.
    public static func lock(_ repo: Repository) throws -> PublishLock {
        do { return try PublishLock(repoPath: repo.path) } catch {
            throw FactoryError("locking \(repo.path) for publishing: \(plainReason(error))", causedBy: error, fallback: .storage)
        }
    }

    /// Copies the delta in directory `source` into the repository through a staging
    /// directory: each file fsynced, then one rename (or an exchange with the old copy) under
    /// `lock`. Returns false when the repository already had identical files.
    public static func publishCopy(of source: String, name: DeltaName, into repo: Repository,
                                   holding lock: PublishLock) throws -> Bool {
        let destination = "\(repo.path)/\(name.relativePath)"
        if FileManager.default.fileExists(atPath: destination), try DeltaMerger.sameFiles(source, destination) { return false }
        let staging: StagingDirectory
        do { staging = try StagingDirectory(repo: repo, filename: nil) } catch {
            throw FactoryError("staging \(name) in \(repo.path)/tmp: \(plainReason(error))", causedBy: error, fallback: .storage)
        }
        defer { staging.discard() }
        do {
            // The superblock last, as the generator writes it.
            let files = try FileManager.default.contentsOfDirectory(atPath: source).filter { $0 != "superblock" }.sorted()
                + ["superblock"]
            for file in files {
                try staging.writeFile(named: file, Array(try readInput("\(source)/\(file)", limit: Int.max)))
            }
            _ = try staging.publish(name: name, partCount: files.count - 1, holding: lock)
        } catch let e as FactoryError {
            throw e
        } catch {
            throw FactoryError("copying \(source) to \(destination): \(plainReason(error))", causedBy: error, fallback: .storage)
        }
        return true
    }
}

/// Directory and file helpers with one-line errors that name the path.
public enum FactoryFiles {
    /// `bytes` at `path`, replaced atomically and durably (see `AtomicFile`).
    public static func writeAtomically(_ bytes: [UInt8], to path: String) throws {
        do { try AtomicFile.write(bytes, to: path) } catch let e as SystemError {
            throw FactoryError("cannot write \(path): \(posixReason(e.code))", causedBy: e)
        }
    }

    /// A new private directory under `parent`.
    public static func makeTemporaryDirectory(in parent: String, prefix: String) throws -> String {
        try createDirectory(parent, what: "the directory")
        var template = Array("\(parent)/\(prefix)-XXXXXX".utf8CString)
        guard let p = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            let code = errno
            throw FactoryError("cannot create a temporary directory in \(parent): \(String(cString: strerror(code)))",
                               kind: FactoryError.kind(ofErrno: code) ?? .badInput)
        }
        return String(cString: p)
    }

    /// Creates `path` and its parents, as `mkdir -p` does, with a one-line error naming the
    /// component that failed and why (Foundation's own error is only a code here).
    public static func createDirectory(_ path: String, what: String) throws {
        var current = ""
        for component in path.split(separator: "/") {
            current = current.isEmpty && !path.hasPrefix("/") ? String(component) : current + "/" + component
            if mkdir(current, 0o755) == 0 { continue }
            let code = errno
            var st = stat()
            if code == EEXIST, stat(current, &st) == 0 {
                if st.st_mode & S_IFMT == S_IFDIR { continue }
                throw FactoryError("cannot create \(what) \(path): \(current) exists and is not a directory")
            }
            throw FactoryError("cannot create \(what) \(path): \(current): \(posixReason(code))",
                               kind: FactoryError.kind(ofErrno: code) ?? .badInput)
        }
    }
}
