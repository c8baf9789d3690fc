import Glibc

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
    static func lock(_ path: String) throws -> Int32 {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw SystemError("opening staging directory", path) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let code = errno
            close(fd)
            throw SystemError("locking staging directory", path, code: code)
        }
        return fd
    }

    /// Removes abandoned staging directories in `parent`. Failures are ignored: cleanup must
    /// never stop a run (a read-only repository, say, still gets its clear error later).
    static func clean(in parent: String) {
        guard let dir = opendir(parent) else { return }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name.hasPrefix(prefix) { names.append(name) }
        }
        closedir(dir)
        for name in names where isAbandoned("\(parent)/\(name)", name: name) {
            FileOps.removeTree("\(parent)/\(name)")
        }
    }

    static func isAbandoned(_ path: String, name: String) -> Bool {
        var st = stat()
        guard lstat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR else { return false }
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        // Held by a live run, wherever it runs. Our probe lock is dropped by close above.
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else { return false }
        let old = time(nil) - st.st_mtim.tv_sec > maxAge
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
