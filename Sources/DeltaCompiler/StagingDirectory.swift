import CLinuxShim
import DeltaFormat
import Glibc
import OSTreeRepo

/// A private directory where a delta is built, then moved into place in one rename.
///
/// For the repo's `deltas/` it lives in the repo's `tmp/` (same filesystem), and the whole
/// directory is renamed, or atomically exchanged with an older copy of the same delta.
/// For `--filename` it lives beside the file: parts move first, the superblock last.
/// Leftovers of killed runs are removed on the next run (see `StaleStaging`).
final class StagingDirectory {
    let path: String
    private let repo: Repository
    private let filename: String?
    private var published = false
    private var lockFD: Int32 = -1
    /// A test seam: runs between finding the target absent and renaming onto it, so a unit
    /// test can publish a rival delta exactly there.
    var beforeRename: (() -> Void)?

    init(repo: Repository, filename: String?) throws {
        self.repo = repo
        self.filename = filename
        let parent: String
        if let filename {
            let dir = filename.asPath.deletingLastComponent
            parent = dir.isEmpty ? "." : dir
            guard FileOps.isDirectory(parent) else { throw SystemError("opening directory", parent, code: ENOENT) }
            // Checked before any work: renaming the superblock onto a directory would fail
            // only after the parts had already been moved beside it.
            if FileOps.isDirectory(filename) { throw SystemError("writing superblock to", filename, code: EISDIR) }
        } else {
            parent = "\(repo.path)/tmp"
        }
        StaleStaging.clean(in: parent)
        var template = Array(StaleStaging.template(in: parent).utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw SystemError("creating a staging directory in", parent)
        }
        path = String(cString: made)
        do {
            lockFD = try StaleStaging.lock(path)
        } catch {
            rmdir(path)
            throw error
        }
    }

    func writeSuperblock(_ bytes: [UInt8]) throws {
        try FileOps.writeNewFile("\(path)/superblock", bytes)
    }

    /// Moves the finished delta into place and returns the superblock's final path.
    func publish(name: DeltaName, partCount: Int) throws -> String {
        if let filename {
            let dir = filename.asPath.deletingLastComponent
            for i in 0..<partCount {
                let dest = (dir.isEmpty ? "" : dir + "/") + "\(i)"
                guard rename("\(path)/\(i)", dest) == 0 else { throw SystemError("renaming part to", dest) }
            }
            guard rename("\(path)/superblock", filename) == 0 else { throw SystemError("renaming superblock to", filename) }
            published = true
            FileOps.syncDirectory(dir.isEmpty ? "." : dir)
            return filename
        }
        let target = "\(repo.path)/\(name.relativePath)"
        let parent = target.asPath.deletingLastComponent
        try FileOps.makeDirectories(parent)
        guard chmod(path, 0o775) == 0 else { throw SystemError("chmod", path) }
        FileOps.syncDirectory(path)
        try moveIntoPlace(target)
        FileOps.syncDirectory(parent)
        return "\(target)/superblock"
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
    func discard() {
        if !published || filename != nil { FileOps.removeTree(path) }
        if lockFD >= 0 {
            close(lockFD)
            lockFD = -1
        }
    }
}
