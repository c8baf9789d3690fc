import CLinuxShim
import DeltaFormat
import Glibc
import OSTreeRepo
import SystemPackage

/// A private directory where a delta is built, then moved into place in one rename.
///
/// For the repo's `deltas/` it lives in the repo's `tmp/` (same filesystem), and the whole
/// directory is renamed, or atomically exchanged with an older copy of the same delta.
///
/// For `--filename PATH` the parts go beside PATH, under the fixed names 0, 1, …, so no
/// single rename can replace an older delta there. When PATH's directory holds nothing but
/// a delta (PATH and numbered parts), the staging directory is made beside that directory
/// and the two are exchanged in one rename: a kill leaves the old delta or the new one, and
/// no stale part of the old one survives. In a directory shared with other files, the old
/// superblock is removed first, then the parts and the new superblock are renamed in, and
/// parts the new delta does not name are removed: a kill then leaves the old delta, no
/// delta, or the new one, never a superblock with another delta's parts.
/// Leftovers of killed runs are removed on the next run (see `StaleStaging`).
///
/// This is the one way deltas reach a repository's `deltas/`: generate-delta and ci-job
/// build into it, merge-deltas copies into it (`writeFile`), and every file is fsynced when
/// written, the directory before and its parent after the rename, which happens under the
/// repository's `PublishLock`.
public final class StagingDirectory {
    public let path: String
    private let repo: Repository
    private let filename: String?
    /// For --filename: the directory that is exchanged whole, when it holds only a delta.
    private let exchangedDirectory: String?
    private var published = false
    private var lockFD: FileDescriptor?
    /// A test seam: runs between finding the target absent and renaming onto it, so a unit
    /// test can publish a rival delta exactly there.
    var beforeRename: (() -> Void)?

    public init(repo: Repository, filename: String?) throws {
        self.repo = repo
        self.filename = filename
        var parent: String
        var exchanged: String?
        if let filename {
            let dir = filename.asPath.deletingLastComponent
            let directory = dir.isEmpty ? "." : dir
            guard FileOps.isDirectory(directory) else { throw SystemError("opening directory", directory, code: ENOENT) }
            try StagingDirectory.checkReplaceable(filename, directory: directory)
            parent = directory
            if let own = StagingDirectory.ownDirectory(directory, superblockName: filename.asPath.lastComponent) {
                exchanged = own.directory
                parent = own.parent
            }
        } else {
            parent = "\(repo.path)/tmp"
        }
        var made: String?
        for candidate in [parent] + (exchanged != nil ? [filename!.asPath.deletingLastComponent] : []) {
            let directory = candidate.isEmpty ? "." : candidate
            StaleStaging.clean(in: directory)
            var template = Array(StaleStaging.template(in: directory).utf8CString)
            if let p = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) {
                made = String(cString: p)
                break
            }
            // Beside the directory may not be writable: build inside it instead, file by file.
            exchanged = nil
        }
        guard let made else { throw SystemError("creating a staging directory in", parent) }
        path = made
        exchangedDirectory = exchanged
        do {
            lockFD = try StaleStaging.lock(path)
        } catch {
            rmdir(path)
            throw error
        }
    }

    /// An existing PATH must be a regular file, and so must each numbered part beside it
    /// that a new delta could replace: a device node, a FIFO or a directory there is refused
    /// before any work, never replaced.
    private static func checkReplaceable(_ filename: String, directory: String) throws {
        var st = stat()
        if lstat(filename, &st) == 0 {
            let type = st.st_mode & S_IFMT
            if type == S_IFDIR { throw SystemError("writing superblock to", filename, code: EISDIR) }
            guard type == S_IFREG else {
                throw DeltaPathError("\(filename) exists and is not a regular file; refusing to replace it")
            }
        }
        for name in FileOps.entries(of: directory) where isPartName(name) {
            let part = "\(directory)/\(name)"
            guard lstat(part, &st) == 0 else { continue }
            guard st.st_mode & S_IFMT == S_IFREG else {
                throw DeltaPathError("\(part) exists and is not a regular file; refusing to write delta parts beside it")
            }
        }
    }

    static func isPartName(_ name: String) -> Bool {
        !name.isEmpty && name.count < 10 && name.allSatisfy(\.isASCII) && name.allSatisfy(\.isNumber)
    }

    /// `directory` and where to stage beside it, when it holds nothing but a delta whose
    /// superblock is `superblockName`; nil when it holds anything else, or is a root.
    private static func ownDirectory(_ directory: String, superblockName: String) -> (directory: String, parent: String)? {
        guard let real = realpath(directory, nil) else { return nil }
        let absolute = String(cString: real)
        free(real)
        let parent = absolute.asPath.deletingLastComponent
        guard absolute != "/", !parent.isEmpty else { return nil }
        let entries = FileOps.entries(of: absolute)
        guard entries.allSatisfy({ $0 == superblockName || isPartName($0) }) else { return nil }
        return (absolute, parent)
    }

    public func writeSuperblock(_ bytes: [UInt8]) throws {
        try FileOps.writeNewFile("\(path)/superblock", bytes)
    }

    /// Writes one file of the delta (a part `0`, `1`, … or the superblock), fsynced.
    public func writeFile(named name: String, _ bytes: [UInt8]) throws {
        guard name == "superblock" || StagingDirectory.isPartName(name) else {
            throw DeltaPathError("\(name) is not a superblock or part file name")
        }
        try FileOps.writeNewFile("\(path)/\(name)", bytes)
    }

    /// Moves the finished delta into place and returns the superblock's final path. Into
    /// `deltas/`, the rename happens under the repository's publish lock: `holding`, when the
    /// caller already has it (merge-deltas holds it over the whole merge), or a new one.
    public func publish(name: DeltaName, partCount: Int, holding lock: PublishLock? = nil) throws -> String {
        if let filename {
            if let directory = exchangedDirectory, try exchangeDirectory(directory, superblock: filename) {
                return filename
            }
            try publishBeside(filename, partCount: partCount)
            return filename
        }
        let target = "\(repo.path)/\(name.relativePath)"
        let parent = target.asPath.deletingLastComponent
        try FileOps.makeDirectories(parent)
        guard chmod(path, 0o775) == 0 else { throw SystemError("chmod", path) }
        FileOps.syncDirectory(path)
        let own = lock == nil ? try PublishLock(repoPath: repo.path) : nil
        defer { own?.release() }
        try moveIntoPlace(target)
        FileOps.syncDirectory(parent)
        return "\(target)/superblock"
    }

    /// Swaps the staging directory with `directory` in one rename; false if the filesystem
    /// cannot (a mount point, say), for the file-by-file way instead.
    private func exchangeDirectory(_ directory: String, superblock: String) throws -> Bool {
        let name = superblock.asPath.lastComponent
        if name != "superblock" {
            guard rename("\(path)/superblock", "\(path)/\(name)") == 0 else { throw SystemError("renaming superblock in", path) }
        }
        var st = stat()
        if stat(directory, &st) == 0 { _ = chmod(path, st.st_mode & 0o7777) }
        FileOps.syncDirectory(path)
        guard deltagen_rename_exchange(path, directory) == 0 else {
            if name != "superblock" { _ = rename("\(path)/\(name)", "\(path)/superblock") }
            return false
        }
        published = true  // the old delta is now at `path`, and `discard` removes it
        FileOps.syncDirectory(directory.asPath.deletingLastComponent)
        return true
    }

    /// Old superblock out, parts in, new superblock in, stale parts out: see the type's note.
    private func publishBeside(_ filename: String, partCount: Int) throws {
        let dir = filename.asPath.deletingLastComponent
        let directory = dir.isEmpty ? "." : dir
        if unlink(filename) != 0 && errno != ENOENT { throw SystemError("removing the old superblock", filename) }
        FileOps.syncDirectory(directory)
        for i in 0..<partCount {
            let dest = "\(directory)/\(i)"
            guard rename("\(path)/\(i)", dest) == 0 else { throw SystemError("renaming part to", dest) }
        }
        FileOps.syncDirectory(directory)
        guard rename("\(path)/superblock", filename) == 0 else { throw SystemError("renaming superblock to", filename) }
        published = true
        FileOps.syncDirectory(directory)
        for name in FileOps.entries(of: directory) where isStalePart(name, partCount: partCount) {
            unlink("\(directory)/\(name)")
        }
    }

    private func isStalePart(_ name: String, partCount: Int) -> Bool {
        StagingDirectory.isPartName(name) && (Int(name) ?? 0) >= partCount
    }
    /// Renames the staging directory to `target`, or swaps it with the delta already there;
    /// the old delta ends up at our staging path and is removed with it. Another run of the
    /// same pair can publish between our look and our rename, so a lost race retries the
    /// other way instead of failing: both runs end with one whole delta in place.
    private func moveIntoPlace(_ target: String) throws {
        for _ in 0..<4 {
            if FileOps.exists(target) {
                if deltagen_rename_exchange(path, target) == 0 { return }
                guard errno == ENOENT else { throw SystemError("replacing", target) }
            } else {
                beforeRename?()
                if rename(path, target) == 0 {
                    published = true
                    return
                }
                guard errno == ENOTEMPTY || errno == EEXIST else { throw SystemError("renaming delta into", target) }
            }
        }
        throw SystemError("renaming delta into", target, code: EBUSY)
    }

    /// Removes the staging directory (or, after an exchange, the old delta now held in it).
    public func discard() {
        if !published || filename != nil { FileOps.removeTree(path) }
        try? lockFD?.close()
        lockFD = nil
    }
}

/// The repository-wide lock that publishers take around changing `deltas/`, the indexes, the
/// summary and delta-stats, so two writers (generate-delta, ci-job, merge-deltas) never
/// interleave. It is an `flock` on `deltagen-publish.lock` in the repository's top directory
/// (not `tmp/`, which libostree may clean), so the kernel drops it when a holder dies.
///
/// Within one process the lock is shared: two descriptors of one process would exclude each
/// other, so a nested publish (merge-deltas holds the lock while `StagingDirectory.publish`
/// takes it again) joins the one already held instead of waiting for itself.
public final class PublishLock {
    public static let fileName = "deltagen-publish.lock"
    /// The locks this process holds, by lock-file path, with their number of holders.
    private static let held = Monitor<[String: (fd: FileDescriptor, holders: Int)]>([:])
    private var path: String?

    /// Waits for the lock, then holds it until `release` (or deinit).
    public init(repoPath: String) throws {
        let path = "\(repoPath)/\(PublishLock.fileName)"
        try PublishLock.held.withLock { held in
            if let entry = held[path] {
                held[path] = (entry.fd, entry.holders + 1)
                return
            }
            let fd = try FileOps.call("opening the publish lock", path) {
                try FileDescriptor.open(FilePath(path), .readWrite, options: [.create, .closeOnExec, .noFollow],
                                        permissions: [.ownerReadWrite, .groupRead, .otherRead])
            }
            // flock, which swift-system does not wrap; it waits, so a signal can interrupt it.
            while flock(fd.rawValue, LOCK_EX) != 0 {
                guard errno == EINTR else {
                    let code = errno
                    try? fd.close()
                    throw SystemError("locking", path, code: code)
                }
            }
            held[path] = (fd, 1)
        }
        self.path = path
    }

    /// Drops this holder; the last one closes the descriptor, which drops the flock.
    public func release() {
        guard let path else { return }
        self.path = nil
        PublishLock.held.withLock { held in
            guard let entry = held[path] else { return }
            if entry.holders > 1 {
                held[path] = (entry.fd, entry.holders - 1)
            } else {
                try? entry.fd.close()
                held[path] = nil
            }
        }
    }

    deinit { release() }
}

/// A --filename path that deltagen will not write to: the caller's input.
struct DeltaPathError: ClassifiedError, CustomStringConvertible {
    var failureKind: FailureKind { .badInput }
    var description: String
    init(_ message: String) { description = message }
}
