import Foundation
import DeltaCompiler

/// `ci-job`'s scratch directory, `WORKDIR/.deltagen-fetch-XXXXXX`, for downloads and
/// extracted tarballs. It is removed on every way out: a normal return or an error (the
/// caller's defer), and SIGTERM, SIGINT or SIGHUP (a handler that removes it, then dies of
/// the signal). A run killed with SIGKILL leaves it; the next run in the same workdir removes
/// every scratch directory whose lock is free, since each live run holds an flock on its own.
enum Scratch {
    static let prefix = ".deltagen-fetch-"
    /// Scratch directories of this process, for the signal handlers to remove.
    private static let registered = Monitor<[String]>([])
    /// The installed signal sources; kept so they stay alive.
    private static let sources = Monitor<[any DispatchSourceSignal]>([])

    /// Removes scratch directories of runs that are gone; returns how many.
    @discardableResult
    static func removeStale(in workdir: String) -> Int {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: workdir) else { return 0 }
        var removed = 0
        for entry in entries where entry.hasPrefix(prefix) {
            let path = workdir + "/" + entry
            var st = stat()
            guard lstat(path, &st) == 0, st.st_mode & S_IFMT == S_IFDIR else { continue }
            let fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard fd >= 0 else { continue }
            defer { close(fd) }
            // A live run holds the lock; its directory stays.
            guard flock(fd, LOCK_EX | LOCK_NB) == 0 else { continue }
            removeTree(path)
            removed += 1
        }
        return removed
    }

    /// A new scratch directory, locked for this process's lifetime and removed on signals.
    static func create(in workdir: String) throws -> String {
        let path = try FactoryFiles.makeTemporaryDirectory(in: workdir, prefix: String(prefix.dropLast()))
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        // The descriptor stays open, and the lock held, until the process ends.
        if fd >= 0 { _ = flock(fd, LOCK_EX | LOCK_NB) }
        registered.withLock { $0.append(path) }
        installSignalHandlers()
        return path
    }

    static func remove(_ path: String) {
        registered.withLock { $0.removeAll { $0 == path } }
        removeTree(path)
    }

    private static func installSignalHandlers() {
        sources.withLock { sources in
            guard sources.isEmpty else { return }
            for sig in [SIGTERM, SIGINT, SIGHUP] {
            signal(sig, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
                source.setEventHandler {
                    for path in registered.withLock({ $0 }) { removeTree(path) }
                    FileHandle.standardError.write(Data("error: stopped by signal \(sig); removed the download scratch\n".utf8))
                    signal(sig, SIG_DFL)
                    kill(getpid(), sig)
                }
                source.resume()
                sources.append(source)
            }
        }
    }

    /// Removes a tree without following any symlink in it. A download still being written
    /// while this runs may recreate an entry, so a few passes are made.
    static func removeTree(_ path: String) {
        for _ in 0..<5 {
            removeOnce(path)
            var st = stat()
            if lstat(path, &st) != 0 { return }
        }
    }

    private static func removeOnce(_ path: String) {
        var st = stat()
        guard lstat(path, &st) == 0 else { return }
        if st.st_mode & S_IFMT == S_IFDIR {
            for entry in (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [] {
                removeOnce(path + "/" + entry)
            }
            rmdir(path)
        } else {
            unlink(path)
        }
    }
}
