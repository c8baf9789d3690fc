import ArgumentParser
import DeltaCompiler
import DeltaFormat
import Foundation
import OSTreeRepo

/// `--repo`, shared by every command that reads a repository.
struct RepoOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "Path to the OSTree repository.",
        discussion: "Defaults as in ostree: $OSTREE_REPO, then the system repository /ostree/repo.",
        valueName: "PATH"))
    var repo: String?

    func open() throws -> Repository {
        if let repo {
            try RepoOptions.checkReadable(repo)
        }
        do {
            return try Repository(path: repo)
        } catch let e as RepositoryError {
            let shown = repo ?? "(default)"
            if e.message.contains("Permission denied") { throw CLIError("cannot open repository \(shown): permission denied") }
            throw CLIError("opening repository \(shown): \(e.message)")
        }
    }

    /// A missing path, a file, a directory without `config` and an unreadable repository each
    /// get their own message; libostree would call all of them "not a repository".
    static func checkReadable(_ repo: String) throws {
        var st = stat()
        if stat(repo, &st) != 0 {
            if errno == ENOENT || errno == ENOTDIR { throw CLIError("repository \(repo) does not exist") }
            throw CLIError("cannot open repository \(repo): \(posixReason(errno))")
        }
        guard st.st_mode & S_IFMT == S_IFDIR else { throw CLIError("\(repo) is not an OSTree repository (not a directory)") }
        if access(repo, R_OK | X_OK) != 0 { throw CLIError("cannot open repository \(repo): \(posixReason(errno))") }
        if stat(repo + "/config", &st) != 0 {
            if errno == ENOENT { throw CLIError("\(repo) is not an OSTree repository (no config file)") }
            throw CLIError("cannot open repository \(repo): \(posixReason(errno))")
        }
        if access(repo + "/config", R_OK) != 0 {
            throw CLIError("cannot open repository \(repo): \(posixReason(errno)) (reading \(repo)/config)")
        }
    }
}

/// Where DELTA points: `FROMHEX-TOHEX` or `TOHEX` in the repo's deltas/, or any argument with
/// a slash as a superblock path. Names are parsed strictly, so they can never carry a path.
func locateDelta(_ delta: String, repo: () throws -> Repository) throws -> DeltaLocation {
    if delta.contains("/") { return DeltaLocation(superblockPath: delta) }
    guard let name = DeltaName(delta) else {
        throw CLIError("invalid delta name \(delta): expected FROMHEX-TOHEX, TOHEX, or a path to a superblock")
    }
    return DeltaLocation(repoPath: try repo().path, name: name)
}

/// An error that is already phrased for the operator.
struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ message: String) { description = message }
}

/// Runs a command body, turning any error into one `error: …` line on stderr and exit code 1.
func reportingErrors(_ body: () throws -> Void) throws {
    // Past a file-size limit (RLIMIT_FSIZE) the kernel would kill us with SIGXFSZ mid-write;
    // ignored, the write fails with EFBIG and the usual cleanup and error line follow.
    signal(SIGXFSZ, SIG_IGN)
    do {
        try body()
    } catch let exit as ExitCode {
        throw exit
    } catch {
        let message = String(describing: error).split(separator: "\n").joined(separator: " ")
        FileHandle.standardError.write(Data("error: \(message)\n".utf8))
        throw ExitCode.failure
    }
}

func printJSON<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}

/// strerror's text for `code`, lowercased: "permission denied".
func posixReason(_ code: Int32) -> String { lowercasedFirst(String(cString: strerror(code))) }

/// The reason inside a Foundation or POSIX error, as one short lowercase phrase
/// ("permission denied", "not a directory"), for messages that name the path themselves.
/// Any other error is described as it describes itself.
func plainReason(_ error: Error) -> String {
    let ns = error as NSError
    func posix(_ code: Int) -> String { lowercasedFirst(String(cString: strerror(Int32(code)))) }
    if ns.domain == NSPOSIXErrorDomain { return posix(ns.code) }
    if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
        return posix(underlying.code)
    }
    if ns.domain == NSCocoaErrorDomain {
        switch CocoaError.Code(rawValue: ns.code) {
        case .fileNoSuchFile, .fileReadNoSuchFile: return posix(Int(ENOENT))
        case .fileReadNoPermission, .fileWriteNoPermission: return posix(Int(EACCES))
        case .fileWriteFileExists: return posix(Int(EEXIST))
        case .fileWriteVolumeReadOnly: return posix(Int(EROFS))
        case .fileWriteOutOfSpace: return posix(Int(ENOSPC))
        default: break
        }
    }
    if ns.domain == NSCocoaErrorDomain || ns.domain == NSURLErrorDomain {
        return lowercasedFirst(ns.localizedDescription.trimmed)
    }
    // deltagen's own errors (and GLib's) already read as a sentence.
    return String(describing: error).trimmed
}

private func lowercasedFirst(_ s: String) -> String {
    guard let first = s.first else { return s }
    return first.lowercased() + s.dropFirst()
}
