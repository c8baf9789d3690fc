import DeltaCompiler
import DeltaFormat
import DeltaPlanning
import Foundation
import OSTreeRepo

/// Steps that `ci-job` and `merge-deltas` share: reading deltas back, keeping delta-stats,
/// and refreshing what clients read.
enum Publishing {
    /// Reads back a delta that passes every `deltagen verify` check, for its stats; nil when
    /// any check fails, so the caller regenerates it.
    static func verified(_ location: DeltaLocation, repo: Repository) -> DeltaInspection? {
        guard DeltaVerifier(repo: repo).verify(location).allSatisfy(\.passed) else { return nil }
        return try? location.inspect()
    }

    /// The stats entry for a delta: Total Size and Total Uncompressed Size as
    /// `ostree static-delta show` prints them.
    static func statsEntry(_ inspection: DeltaInspection) -> DeltaStats.Entry {
        DeltaStats.Entry(size: inspection.totalSize, uSize: inspection.totalUncompressedSize)
    }

    /// Merges `fresh` into the stats files in `archive`, one `<to>.json` per target commit, and
    /// returns the files to write. Existing files are read first, so a rerun with other froms
    /// keeps the earlier ones; a file that cannot be read stops the job instead of being
    /// overwritten.
    static func mergedStats(_ fresh: DeltaStats, archive: String) throws -> [(to: Checksum, path: String, bytes: [UInt8])] {
        // An --archive that cannot become a directory is found now, before anything is published.
        var st = stat()
        if lstat(archive, &st) == 0, st.st_mode & S_IFMT != S_IFDIR {
            if stat(archive, &st) != 0 || st.st_mode & S_IFMT != S_IFDIR {
                throw CLIError("the stats directory \(archive) exists and is not a directory")
            }
        }
        var files: [(Checksum, String, [UInt8])] = []
        for to in fresh.entries.keys.sorted() {
            let path = "\(archive)/\(to.hex).json"
            var stats = DeltaStats()
            if FileManager.default.fileExists(atPath: path) {
                stats = try DeltaStats(json: try readInput(path), file: path)
            }
            stats.merge(fresh.restricted(to: to))
            files.append((to, path, stats.canonicalBytes()))
        }
        return files
    }

    /// Writes each stats file atomically (temp file, fsync, rename) and prints its reference.
    static func writeStats(_ files: [(to: Checksum, path: String, bytes: [UInt8])], archive: String) throws {
        try createDirectory(archive, what: "the stats directory")
        for file in files {
            try writeAtomically(Data(file.bytes), to: file.path)
            let ref = DeltaStats.reference(for: file.bytes)
            print("delta-stats \(file.path): sha256 \(ref.sha256), \(ref.size) bytes")
            print("  custom.delta-stats for Targets with commit \(file.to.hex): \(ref.json)")
        }
    }

    /// Sets `core.indexed-deltas=true`, rewrites every delta index and the summary, through
    /// libostree. Clients only see new deltas after this.
    static func refreshIndexes(_ repo: Repository) throws {
        do {
            try repo.enableIndexedDeltas()
            try repo.reindexDeltas()
            try repo.regenerateSummary()
        } catch let e as RepositoryError {
            throw CLIError("refreshing the summary and delta indexes of \(repo.path): \(e.message)")
        }
        let deltas = try repo.listDeltas()
        let targets = Set(deltas.map(\.to)).count
        print("Refreshed the summary and delta indexes: \(deltas.count) deltas to \(targets) commits")
    }

    static func writeAtomically(_ data: Data, to path: String) throws {
        let tmp = path + ".tmp-\(getpid())"
        do { try data.write(to: URL(fileURLWithPath: tmp)) } catch {
            throw CLIError("cannot write \(tmp): \(plainReason(error))")
        }
        let fd = open(tmp, O_RDONLY)
        if fd >= 0 { _ = fsync(fd); close(fd) }
        guard rename(tmp, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(tmp)
            throw CLIError("cannot rename \(tmp) to \(path): \(reason)")
        }
    }

    /// A new private directory under `parent`.
    static func makeTemporaryDirectory(in parent: String, prefix: String) throws -> String {
        try createDirectory(parent, what: "the directory")
        var template = Array("\(parent)/\(prefix)-XXXXXX".utf8CString)
        guard let p = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw CLIError("cannot create a temporary directory in \(parent): \(String(cString: strerror(errno)))")
        }
        return String(cString: p)
    }

    /// Creates `path` and its parents, as `mkdir -p` does, with a one-line error naming the
    /// component that failed and why (Foundation's own error is only a code here).
    static func createDirectory(_ path: String, what: String) throws {
        var current = ""
        for component in path.split(separator: "/") {
            current = current.isEmpty && !path.hasPrefix("/") ? String(component) : current + "/" + component
            if mkdir(current, 0o755) == 0 { continue }
            let code = errno
            var st = stat()
            if code == EEXIST, stat(current, &st) == 0 {
                if st.st_mode & S_IFMT == S_IFDIR { continue }
                throw CLIError("cannot create \(what) \(path): \(current) exists and is not a directory")
            }
            throw CLIError("cannot create \(what) \(path): \(current): \(posixReason(code))")
        }
    }

    /// Opens the repository at `path`, creating an archive repository if there is none yet.
    /// A directory that holds anything but is no repository is refused, never turned into one.
    static func openOrCreate(_ path: String) throws -> Repository {
        do {
            var st = stat()
            if stat(path, &st) == 0 {
                guard st.st_mode & S_IFMT == S_IFDIR else {
                    throw CLIError("\(path) exists and is not a directory, so it cannot be a repository")
                }
                if stat(path + "/config", &st) == 0 || errno != ENOENT {
                    try RepoOptions.checkReadable(path)
                    let repo = try Repository(path: path)
                    guard repo.mode == .archive else {
                        throw CLIError("\(path) is a \(repo.mode.rawValue) repository; a repository served to clients must be archive mode")
                    }
                    return repo
                }
                let entries: [String]
                do { entries = try FileManager.default.contentsOfDirectory(atPath: path) } catch {
                    throw CLIError("cannot read \(path): \(plainReason(error))")
                }
                if !entries.isEmpty {
                    throw CLIError("\(path) is not empty and is not an OSTree repository (no config file); refusing to turn it into one")
                }
            } else {
                try createDirectory(path, what: "the repository")
            }
            return try Repository.create(path: path, mode: .archive)
        } catch let e as RepositoryError {
            if e.message.contains("Permission denied") { throw CLIError("cannot open repository \(path): permission denied") }
            throw CLIError("opening \(path): \(e.message)")
        }
    }
}
