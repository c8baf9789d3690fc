import Glibc
import SystemPackage

/// Names, locks and cleans up staging directories, so that a run killed with SIGKILL leaves
/// nothing that accumulates, and no run ever removes a directory another run is using.
///
/// A staging directory is `deltagen-staging-<pid>-XXXXXX`, and its creator holds an exclusive
/// `flock` on it for as long as it builds there. The kernel drops the lock when the process
/// dies, however it dies. A leftover is removed only when its lock is free and either its pid
/// is not running here, or it is older than a day. The pid test covers the instant between
/// `mkdtemp` and `flock`; the lock covers pid reuse and runs in another pid namespace that
/// share the repository, where our pid test means nothing.
enum StaleStaging {
    static let prefix = "deltagen-staging-"
    static let maxAge: time_t = 24 * 3600

    /// The mkdtemp template for a new staging directory in `parent`.
    static func template(in parent: String) -> String {
        "\(parent)/\(prefix)\(getpid())-XXXXXX"
    }

    /// Takes the lock that marks `path` as in use; returns the descriptor that holds it.
    static func lock(_ path: String) throws -> FileDescriptor {
        let fd = try FileOps.call("opening staging directory", path) {
            try FileDescriptor.open(FilePath(path), .readOnly, options: [.directory, .closeOnExec])
        }
        guard flock(fd.rawValue, LOCK_EX | LOCK_NB) == 0 else {
            let code = errno
            try? fd.close()
            throw SystemError("locking staging directory", path, code: code)
        }
        return fd
    }

    /// Removes abandoned staging directories in `parent`. Failures are ignored: cleanup must
    /// never stop a run (a read-only repository, say, still gets its clear error later).
    static func clean(in parent: String) {
        let names = FileOps.entries(of: parent).filter { $0.hasPrefix(prefix) }
        for name in names where isAbandoned("\(parent)/\(name)", name: name) {
            FileOps.removeTree("\(parent)/\(name)")
        }
    }

    static func isAbandoned(_ path: String, name: String) -> Bool {
        guard let st = try? Stat(FilePath(path), followTargetSymlink: false), st.type == .directory,
              let fd = try? FileDescriptor.open(FilePath(path), .readOnly, options: [.directory, .noFollow, .closeOnExec])
        else { return false }
        defer { try? fd.close() }
        // Held by a live run, wherever it runs. Our probe lock is dropped by close above.
        guard flock(fd.rawValue, LOCK_EX | LOCK_NB) == 0 else { return false }
        let old = time(nil) - st.rawValue.st_mtim.tv_sec > maxAge
        guard let pid = creatorPid(name) else { return old }
        return old || !isRunning(pid)
    }

    /// The pid in `deltagen-staging-<pid>-XXXXXX`; nil for names from older versions.
    static func creatorPid(_ name: String) -> pid_t? {
        let rest = name.dropFirst(prefix.count)
        guard let dash = rest.firstIndex(of: "-") else { return nil }
        return pid_t(rest[..<dash])
    }

    static func isRunning(_ pid: pid_t) -> Bool {
        pid > 0 && (kill(pid, 0) == 0 || errno == EPERM)
    }
}
