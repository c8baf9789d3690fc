import DeltaFormat
import Foundation
import OSTreeRepo

/// Opening repositories with one clear message per way it can fail.
public enum RepositoryAccess {
    /// Opens the repository at `path` (nil: ostree's default), with messages for a missing,
    /// non-repository or unreadable path.
    public static func open(_ path: String?) throws -> Repository {
        if let path { try checkReadable(path) }
        do {
            return try Repository(path: path)
        } catch let e as RepositoryError {
            let shown = path ?? "(default)"
            if e.message.contains("Permission denied") { throw FactoryError("cannot open repository \(shown): permission denied") }
            throw FactoryError("opening repository \(shown): \(e.message)", kind: e.failureKind)
        }
    }

    /// A missing path, a file, a directory without `config` and an unreadable repository each
    /// get their own message; libostree would call all of them "not a repository".
    public static func checkReadable(_ repo: String) throws {
        var st = stat()
        if stat(repo, &st) != 0 {
            if errno == ENOENT || errno == ENOTDIR { throw FactoryError("repository \(repo) does not exist") }
            throw FactoryError("cannot open repository \(repo): \(posixReason(errno))")
        }
        guard st.st_mode & S_IFMT == S_IFDIR else { throw FactoryError("\(repo) is not an OSTree repository (not a directory)") }
        if access(repo, R_OK | X_OK) != 0 { throw FactoryError("cannot open repository \(repo): \(posixReason(errno))") }
        if stat(repo + "/config", &st) != 0 {
            if errno == ENOENT { throw FactoryError("\(repo) is not an OSTree repository (no config file)") }
            throw FactoryError("cannot open repository \(repo): \(posixReason(errno))")
        }
        if access(repo + "/config", R_OK) != 0 {
            throw FactoryError("cannot open repository \(repo): \(posixReason(errno)) (reading \(repo)/config)")
        }
    }

    /// Opens the repository at `path`, creating an archive repository if there is none yet.
    /// A directory that holds anything but is no repository is refused, never turned into one.
    public static func openOrCreate(_ path: String) throws -> Repository {
        do {
            var st = stat()
            if stat(path, &st) == 0 {
                guard st.st_mode & S_IFMT == S_IFDIR else {
                    throw FactoryError("\(path) exists and is not a directory, so it cannot be a repository")
                }
                if stat(path + "/config", &st) == 0 || errno != ENOENT {
                    try checkReadable(path)
                    let repo = try Repository(path: path)
                    guard repo.mode == .archive else {
                        throw FactoryError("\(path) is a \(repo.mode.rawValue) repository; a repository served to clients must be archive mode")
                    }
                    return repo
                }
                let entries: [String]
                do { entries = try FileManager.default.contentsOfDirectory(atPath: path) } catch {
                    throw FactoryError("cannot read \(path): \(plainReason(error))", causedBy: error)
                }
                if !entries.isEmpty {
                    throw FactoryError("\(path) is not empty and is not an OSTree repository (no config file); refusing to turn it into one")
                }
            } else {
                try FactoryFiles.createDirectory(path, what: "the repository")
            }
            return try Repository.create(path: path, mode: .archive)
        } catch let e as RepositoryError {
            if e.message.contains("Permission denied") { throw FactoryError("cannot open repository \(path): permission denied") }
            throw FactoryError("opening \(path): \(e.message)", kind: e.failureKind)
        }
    }

    /// `rev` as a commit checksum; `role` ("FROM", "TO") names it in the message.
    public static func resolve(_ rev: String, in repo: Repository, role: String) throws -> Checksum {
        do {
            return try repo.resolve(rev)
        } catch let e as RepositoryError {
            // A rev that does not resolve is the caller's input, whatever libostree's code for it.
            throw FactoryError("cannot resolve \(role) \(rev): \(e.message)")
        }
    }
}
