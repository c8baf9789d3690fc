import Glibc
import DeltaFormat

/// A failed system call on a path, reported the way ostree does: `what PATH: reason`.
public struct SystemError: Error, CustomStringConvertible {
    public var operation: String
    public var path: String
    public var code: Int32

    public init(_ operation: String, _ path: String, code: Int32 = errno) {
        self.operation = operation
        self.path = path
        self.code = code
    }

    public var description: String { "\(operation) \(path): \(String(cString: strerror(code)))" }
}

extension SystemError: ClassifiedError {
    /// A path that is missing or of the wrong type is the caller's input; anything else
    /// (no space, a read-only or failing disk, a file-size limit) is storage.
    public var failureKind: FailureKind {
        [ENOENT, ENOTDIR, EISDIR, EEXIST, ELOOP, ENAMETOOLONG].contains(code) ? .badInput : .storage
    }
}

/// A small file replaced in one step: written beside its final name, fsynced, renamed over
/// it, and the directory fsynced, so a crash leaves the old file or the new one, never less.
public enum AtomicFile {
    public static func write(_ bytes: [UInt8], to path: String) throws {
        let dir = path.asPath.deletingLastComponent
        let tmp = "\(path).tmp-\(getpid())"
        unlink(tmp)  // a leftover of a killed run with our pid
        do {
            try FileOps.writeNewFile(tmp, bytes)
        } catch {
            unlink(tmp)
            throw error
        }
        guard rename(tmp, path) == 0 else {
            let code = errno
            unlink(tmp)
            throw SystemError("renaming \(tmp) to", path, code: code)
        }
        FileOps.syncDirectory(dir.isEmpty ? "." : dir)
    }
}

/// Small, explicit file operations with errno-based errors.
enum FileOps {
    static func exists(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0
    }

    static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    /// Creates `path` and any missing parents with mode 0775, like ostree's delta directories.
    static func makeDirectories(_ path: String) throws {
        if isDirectory(path) { return }
        let parent = path.asPath.deletingLastComponent
        if !parent.isEmpty && parent != path { try makeDirectories(parent) }
        if mkdir(path, 0o775) != 0 && errno != EEXIST { throw SystemError("mkdir", path) }
    }

    /// Writes `bytes` to a new file (which must not exist), flushes it to disk and closes it.
    static func writeNewFile(_ path: String, _ bytes: [UInt8], mode: mode_t = 0o644) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw SystemError("open", path) }
        defer { close(fd) }
        try bytes.withUnsafeBytes { try writeAll(fd, $0, path: path) }
        guard fsync(fd) == 0 else { throw SystemError("fsync", path) }
        _ = fchmod(fd, mode)  // O_CREAT's mode is masked by the umask; parts are always 0644
    }

    /// Writes all of `bytes` to `fd` (at its offset), retrying short writes and EINTR.
    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws {
        var written = 0
        while written < bytes.count {
            let n = write(fd, bytes.baseAddress! + written, bytes.count - written)
            if n < 0 {
                if errno == EINTR { continue }
                throw SystemError("write", path)
            }
            written += n
        }
    }

    static func readFile(_ path: String, limit: Int) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SystemError("open", path) }
        defer { close(fd) }
        var out = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw SystemError("read", path)
            }
            if n == 0 { return out }
            guard out.count + n <= limit else { throw SystemError("read", path, code: EFBIG) }
            out.append(contentsOf: chunk[0..<n])
        }
    }

    /// Hands file `path` to `body` in pieces of 1 MiB and returns its size; stops with an
    /// error past `limit` bytes, so a file that grows or lies about its size is never read whole.
    @discardableResult
    static func forEachChunk(of path: String, limit: UInt64, _ body: ([UInt8]) throws -> Void) throws -> UInt64 {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SystemError("open", path) }
        defer { close(fd) }
        var size: UInt64 = 0
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { throw SystemError("read", path) }
            if n == 0 { return size }
            size += UInt64(n)
            guard size <= limit else { throw SystemError("read", path, code: EFBIG) }
            try body(Array(chunk[0..<n]))
        }
    }

    static func syncDirectory(_ path: String) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 {
            _ = fsync(fd)
            close(fd)
        }
    }

    /// The names in directory `path`, without "." and ".."; empty if it cannot be read.
    static func entries(of path: String) -> [String] {
        guard let dir = opendir(path) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// Removes a file or a directory tree; errors are ignored because this only cleans up.
    static func removeTree(_ path: String) {
        var st = stat()
        guard lstat(path, &st) == 0 else { return }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            if let dir = opendir(path) {
                while let entry = readdir(dir) {
                    let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                        String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
                    }
                    if name == "." || name == ".." { continue }
                    removeTree(path + "/" + name)
                }
                closedir(dir)
            }
            rmdir(path)
        } else {
            unlink(path)
        }
    }
}

/// Path string helpers without Foundation's URL machinery.
struct NSStringPath {
    let path: String
    var deletingLastComponent: String {
        guard let slash = path.lastIndex(of: "/") else { return "" }
        if slash == path.startIndex { return "/" }
        return String(path[..<slash])
    }
    var lastComponent: String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }
}

extension String {
    var asPath: NSStringPath { NSStringPath(path: self) }
}

