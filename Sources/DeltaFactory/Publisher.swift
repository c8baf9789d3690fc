import DeltaCompiler
import DeltaFormat
import Foundation

/// `publish`: brings a repository's files into a served directory DEST in an order that keeps
/// DEST valid for a client at every moment. A client finds a delta through the summary or a
/// delta index, then fetches its superblock, then its parts and fallback objects; so each file
/// lands only after everything it names: config, objects, each delta's parts then its
/// superblock, delta indexes, delta-stats, refs, and the summary (then its signature) last.
///
/// Every file is written under a temporary name in its final directory, fsynced, renamed,
/// and the directory fsynced, so a kill leaves each file old or new, never short. The whole
/// run holds the publish lock of both repositories: no ci-job or merge-deltas changes the
/// source while it is read, and no second publish writes DEST at once.
public struct Publisher {
    /// One file to bring over, relative to both roots.
    public struct Step: Equatable, Sendable {
        public var path: String
        /// Where the bytes come from: the repository, or the stats directory.
        public var sourcePath: String
        /// Why it is copied: "new" or "changed".
        public var reason: String
    }

    public var repo: String
    public var destination: String
    /// Stats files `<to>.json` to publish under DEST/delta-stats/; nil: none.
    public var archive: String?

    /// Prefix of the temporary names; any file with it in DEST is a leftover of a killed run
    /// (the lock proves no other publish is writing), removed before copying.
    static let temporaryPrefix = ".deltagen-publish-"

    static let skeleton = ["objects", "refs/heads", "refs/mirrors", "refs/remotes", "state", "tmp", "extensions"]

    public init(repo: String, destination: String, archive: String? = nil) {
        self.repo = repo
        self.destination = destination
        self.archive = archive
    }

    /// What a run would copy, in publish order. Reads only.
    public func plan() throws -> [Step] {
        try PublishOrder(repo: repo, archive: archive).files().compactMap { path, source in
            try difference(path: path, source: source)
        }
    }

    /// Lists the plan (dry run) or carries it out; reports each copied file through `output`
    /// and returns how many were copied.
    @discardableResult
    public func run(dryRun: Bool = false, output: (String) -> Void) throws -> Int {
        // Clients pull only from archive repositories; a bare one would be served broken.
        guard try RepositoryAccess.open(repo).mode == .archive else {
            throw FactoryError("publish: \(repo) is not an archive-mode repository; clients cannot pull from a copy of it")
        }
        let source = try realPath(repo), dest = destination
        if let existing = try? realPath(dest), existing == source {
            throw FactoryError("publish: \(dest) is the repository itself")
        }
        if dryRun {
            let steps = try plan()
            for step in steps { output("would copy \(step.path) (\(step.reason))") }
            output("Dry run: \(steps.count) files would be copied to \(dest)")
            return steps.count
        }
        try FactoryFiles.createDirectory(dest, what: "the publish destination")
        let sourceLock = try lock(source)
        let destLock = try lock(dest)
        defer { destLock.release(); sourceLock.release() }
        removeLeftovers(in: dest)
        // libostree expects these even when empty (fsck lists refs/remotes), and a copy of
        // regular files alone would not make them.
        for dir in Publisher.skeleton where FileManager.default.fileExists(atPath: "\(source)/\(dir)") {
            try FactoryFiles.createDirectory("\(dest)/\(dir)", what: "the directory")
        }
        Publisher.syncDirectory(dest)
        let steps = try plan()
        try withdrawReplacedDeltas(steps)
        var madeDirectories = Set<String>()
        for step in steps {
            try copy(step, madeDirectories: &madeDirectories)
            output("copied \(step.path)")
        }
        output("Published \(repo) to \(dest): \(steps.count) files copied")
        return steps.count
    }

    /// A delta DEST holds with other bytes is taken out of DEST's indexes first, then its
    /// superblock removed: a client never reads an index naming a superblock that is gone,
    /// or one whose digest is not the index's. It comes back with the new indexes.
    private func withdrawReplacedDeltas(_ steps: [Step]) throws {
        var replaced = Set<DeltaName>()
        for step in steps where step.path.hasPrefix("deltas/") && step.reason == "changed" {
            let dir = (step.path as NSString).deletingLastPathComponent
            if let name = DeltaName(deltasSubpath: String(dir.dropFirst("deltas/".count))),
               FileManager.default.fileExists(atPath: "\(destination)/\(dir)/superblock") {
                replaced.insert(name)
            }
        }
        guard !replaced.isEmpty else { return }
        try DeltaIndexes.write(repoPath: destination, excluding: replaced)
        for name in replaced {
            let dir = "\(destination)/\(name.relativePath)"
            if unlink("\(dir)/superblock") == 0 { Publisher.syncDirectory(dir) }
        }
    }

    private func lock(_ path: String) throws -> PublishLock {
        do { return try PublishLock(repoPath: path) } catch {
            throw FactoryError("locking \(path) for publishing: \(plainReason(error))", causedBy: error, fallback: .storage)
        }
    }

    private func realPath(_ path: String) throws -> String {
        guard let p = realpath(path, nil) else { throw FactoryError("\(path) does not exist") }
        defer { free(p) }
        return String(cString: p)
    }

    /// The step for `path`, or nil when DEST already holds it. Objects are content-addressed,
    /// so their name and size are enough; any other file must match byte for byte.
    private func difference(path: String, source: String) throws -> Step? {
        let target = "\(destination)/\(path)"
        var theirs = stat(), ours = stat()
        guard lstat(source, &ours) == 0 else {
            throw FactoryError("cannot read \(source): \(posixReason(errno))", kind: .storage)
        }
        guard lstat(target, &theirs) == 0 else { return Step(path: path, sourcePath: source, reason: "new") }
        if theirs.st_mode & S_IFMT == S_IFREG, theirs.st_size == ours.st_size {
            if path.hasPrefix("objects/") { return nil }
            if FileManager.default.contentsEqual(atPath: source, andPath: target) { return nil }
        }
        return Step(path: path, sourcePath: source, reason: "changed")
    }

    /// Writes one file through a temporary name (a replaced delta's old superblock is
    /// already gone: see `withdrawReplacedDeltas`).
    private func copy(_ step: Step, madeDirectories: inout Set<String>) throws {
        let target = "\(destination)/\(step.path)"
        let directory = (target as NSString).deletingLastPathComponent
        if !madeDirectories.contains(directory) {
            try FactoryFiles.createDirectory(directory, what: "the directory")
            Publisher.syncDirectory((directory as NSString).deletingLastPathComponent)
            madeDirectories.insert(directory)
        }
        let temporary = "\(directory)/\(Publisher.temporaryPrefix)\((step.path as NSString).lastPathComponent)"
        unlink(temporary)
        do {
            try FactoryFiles.copyDurably(step.sourcePath, to: temporary)
        } catch {
            unlink(temporary)
            throw error
        }
        TestDelay.pause()
        guard rename(temporary, target) == 0 else {
            let code = errno
            unlink(temporary)
            throw FactoryError("cannot rename \(temporary) to \(target): \(posixReason(code))",
                               kind: FactoryError.kind(ofErrno: code) ?? .storage)
        }
        Publisher.syncDirectory(directory)
    }

    /// Removes temporary files a killed publish left anywhere in DEST.
    private func removeLeftovers(in root: String) {
        guard let walker = FileManager.default.enumerator(atPath: root) else { return }
        while let rel = walker.nextObject() as? String {
            if (rel as NSString).lastPathComponent.hasPrefix(Publisher.temporaryPrefix) { unlink("\(root)/\(rel)") }
        }
    }

    static func syncDirectory(_ path: String) {
        let fd = open(path.isEmpty ? "." : path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 {
            _ = fsync(fd)
            close(fd)
        }
    }
}

extension FactoryFiles {
    /// Copies `source` to a new file at `path` in 1 MiB pieces (objects can be large) and
    /// fsyncs it; the caller renames it into place.
    public static func copyDurably(_ source: String, to path: String) throws {
        func fail(_ what: String, _ file: String, _ code: Int32 = errno) -> FactoryError {
            FactoryError("cannot \(what) \(file): \(posixReason(code))", kind: FactoryError.kind(ofErrno: code) ?? .storage)
        }
        let input = open(source, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard input >= 0 else { throw fail("read", source) }
        defer { close(input) }
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw fail("create", path) }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { throw fail("read", source) }
            if n == 0 { break }
            var written = 0
            while written < n {
                let w = buffer.withUnsafeBytes { write(fd, $0.baseAddress! + written, n - written) }
                if w < 0 && errno == EINTR { continue }
                guard w > 0 else { throw fail("write", path) }
                written += w
            }
        }
        guard fsync(fd) == 0 else {
            let code = errno
            throw FactoryError("cannot fsync \(path): \(posixReason(code))", kind: FactoryError.kind(ofErrno: code) ?? .storage)
        }
        _ = fchmod(fd, 0o644)
    }
}

/// DELTAGEN_TEST_PUBLISH_DELAY_MS (debug builds only): publish waits this long before each
/// rename, and prune before each removal, so a test's client pulls land between steps.
enum TestDelay {
    static func pause() {
        #if DEBUG
        if let ms = ProcessInfo.processInfo.environment["DELTAGEN_TEST_PUBLISH_DELAY_MS"].flatMap({ UInt32($0) }), ms > 0 {
            usleep(ms * 1000)
        }
        #endif
    }
}
