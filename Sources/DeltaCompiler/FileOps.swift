import DeltaFormat
import Glibc
import SystemPackage

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
    /// A path that is missing, of the wrong type or not ours to write is the caller's input;
    /// anything else (no space, a read-only or failing disk, a file-size limit) is storage.
    public var failureKind: FailureKind {
        [ENOENT, ENOTDIR, EISDIR, EEXIST, ELOOP, ENAMETOOLONG, EACCES, EPERM].contains(code) ? .badInput : .storage
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

/// Small, explicit file operations with errno-based errors. Descriptors, paths and errno
/// come from swift-system (`FileDescriptor`, `FilePath`, `Errno`), which retries EINTR and
/// checks `close`; what it lacks (mkdir, fsync, directory listing, rename) stays a thin
/// wrapper here.
enum FileOps {
    /// Runs a swift-system call, turning its `Errno` into a `SystemError` naming the
    /// operation and the path.
    static func call<T>(_ operation: String, _ path: String, _ body: () throws -> T) throws -> T {
        do { return try body() } catch let e as Errno { throw SystemError(operation, path, code: e.rawValue) }
    }

    static func exists(_ path: String) -> Bool {
        (try? Stat(FilePath(path), followTargetSymlink: false)) != nil
    }

    static func isDirectory(_ path: String) -> Bool {
        (try? Stat(FilePath(path)))?.type == .directory
    }

    /// Creates `path` and any missing parents with mode 0775, like ostree's delta directories.
    static func makeDirectories(_ path: String) throws {
        if isDirectory(path) { return }
        let parent = path.asPath.deletingLastComponent
        if !parent.isEmpty && parent != path { try makeDirectories(parent) }
        if mkdir(path, 0o775) != 0 && errno != EEXIST { throw SystemError("mkdir", path) }
    }

    /// Writes `bytes` to a new file (which must not exist), flushes it to disk and closes it;
    /// a failed close is an error too.
    static func writeNewFile(_ path: String, _ bytes: [UInt8], mode: mode_t = 0o644) throws {
        let fd = try call("open", path) {
            try FileDescriptor.open(FilePath(path), .writeOnly, options: [.create, .exclusiveCreate, .closeOnExec],
                                    permissions: FilePermissions(rawValue: mode))
        }
        try call("write", path) {
            try fd.closeAfter {
                try fd.writeAll(bytes)
                try sync(fd)
                _ = fchmod(fd.rawValue, mode)  // O_CREAT's mode is masked by the umask; parts are always 0644
            }
        }
    }

    /// Writes all of `bytes` to `fd` (at its offset); swift-system retries short writes and EINTR.
    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws {
        try call("write", path) { _ = try FileDescriptor(rawValue: fd).writeAll(bytes) }
    }

    static func readFile(_ path: String, limit: Int) throws -> [UInt8] {
        var out = [UInt8]()
        try forEachChunk(of: path, limit: UInt64(limit), chunkSize: 1 << 16) { out.append(contentsOf: $0) }
        return out
    }

    /// Hands file `path` to `body` in pieces of 1 MiB and returns its size; stops with an
    /// error past `limit` bytes, so a file that grows or lies about its size is never read whole.
    @discardableResult
    static func forEachChunk(of path: String, limit: UInt64, chunkSize: Int = 1 << 20,
                             _ body: ([UInt8]) throws -> Void) throws -> UInt64 {
        let fd = try call("open", path) { try FileDescriptor.open(FilePath(path), .readOnly, options: .closeOnExec) }
        return try call("read", path) {
            try fd.closeAfter {
                var size: UInt64 = 0
                var chunk = [UInt8](repeating: 0, count: chunkSize)
                while true {
                    let n = try chunk.withUnsafeMutableBytes { try fd.read(into: $0) }
                    if n == 0 { return size }
                    size += UInt64(n)
                    guard size <= limit else { throw Errno.fileTooLarge }
                    try body(Array(chunk[0..<n]))
                }
            }
        }
    }

    /// fsync, which swift-system does not wrap.
    static func sync(_ fd: FileDescriptor) throws {
        guard fsync(fd.rawValue) == 0 else { throw Errno(rawValue: errno) }
    }

    /// Flushes a directory's entries (a rename into it, say) to disk; best effort, since a
    /// file system that cannot fsync a directory has nothing more to flush.
    static func syncDirectory(_ path: String) {
        guard let fd = try? FileDescriptor.open(FilePath(path), .readOnly, options: [.directory, .closeOnExec]) else { return }
        _ = try? fd.closeAfter { try sync(fd) }
    }

    /// The names in directory `path`, without "." and ".."; empty if it cannot be read.
    /// swift-system has no directory listing, so this is readdir.
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

    /// Removes a file or a directory tree without following symlinks; errors are ignored
    /// because this only cleans up.
    static func removeTree(_ path: String) {
        guard let st = try? Stat(FilePath(path), followTargetSymlink: false) else { return }
        if st.type == .directory {
            for name in entries(of: path) { removeTree(path + "/" + name) }
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

