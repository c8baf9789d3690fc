import CArchive
import DeltaFormat
import Foundation

/// Extracts a repo tarball that came from elsewhere, for a job that runs as root.
///
/// Every entry is checked before libarchive writes it, and the tree is checked again after:
/// - only regular files, directories, symlinks and hard links; never a device node, FIFO or
///   socket, and never a setuid or setgid bit;
/// - no absolute path and no `..` in an entry's name or a hard link's target; a hard link must
///   name a regular file written earlier from the same tarball, and after extraction every
///   file's link count must be accounted for inside the tree;
/// - a symlink must be relative and stay inside the tree, and after extraction it must
///   resolve inside the repository; nothing is ever written through a symlink;
/// - the repository itself, and its `config`, `objects`, `tmp`, `refs` and `deltas`, are not
///   links (`checkRepository`).
/// - at most `limit(forArchiveOfSize:)` bytes of file data in all, so that a small tarball
///   cannot fill the disk.
/// Owners, permission bits beyond the umask, xattrs, ACLs and file flags are not restored.
enum SafeExtractor {
    /// File data a tarball may unpack to: 100 times its own size, at least 256 MB and at most
    /// 64 GB. A repository's objects are zlib-compressed already, so a real repo tarball
    /// unpacks to about its own size.
    static func limit(forArchiveOfSize size: Int64) -> Int64 {
        let (product, overflow) = max(0, size).multipliedReportingOverflow(by: 100)
        return min(64_000_000_000, max(256_000_000, overflow ? .max : product))
    }

    /// S_ISUID | S_ISGID (libarchive's AE_IF* modes are Linux's S_IF* values).
    private static let setIDBits: mode_t = 0o6000

    static func extract(_ archivePath: String, into target: String) throws {
        guard mkdir(target, 0o700) == 0 else {
            let code = errno
            throw FactoryError("cannot create \(target): \(String(cString: strerror(code)))", kind: FactoryError.kind(ofErrno: code) ?? .badInput)
        }
        guard let resolved = realpath(target, nil) else {
            throw FactoryError("cannot resolve \(target): \(String(cString: strerror(errno)))")
        }
        let root = String(cString: resolved)
        free(resolved)

        guard let reader = archive_read_new() else { throw FactoryError("libarchive: out of memory") }
        defer { archive_read_free(reader) }
        archive_read_support_filter_all(reader)
        archive_read_support_format_tar(reader)
        archive_read_support_format_gnutar(reader)
        guard archive_read_open_filename(reader, archivePath, 1 << 16) == ARCHIVE_OK else {
            throw FactoryError("not a readable tarball: \(message(reader))")
        }
        var archiveStat = stat()
        let budget = limit(forArchiveOfSize: stat(archivePath, &archiveStat) == 0 ? Int64(archiveStat.st_size) : 0)
        var written: Int64 = 0
        guard let writer = archive_write_disk_new() else { throw FactoryError("libarchive: out of memory") }
        defer { archive_write_free(writer) }
        archive_write_disk_set_options(writer, ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NODOTDOT)

        var kinds: [String: mode_t] = [:]
        var entry: OpaquePointer?
        while true {
            let status = archive_read_next_header(reader, &entry)
            if status == ARCHIVE_EOF { break }
            guard status == ARCHIVE_OK || status == ARCHIVE_WARN, let entry else {
                throw FactoryError("not a readable tarball: \(message(reader))")
            }
            guard let rawName = archive_entry_pathname(entry).map({ String(cString: $0) }) else {
                throw FactoryError("an entry has no usable name")
            }
            let name = try relativeName(rawName, what: "entry")
            let kind = archive_entry_filetype(entry) & S_IFMT
            let mode = archive_entry_mode(entry)
            let shown = rawName.count > 200 ? String(rawName.prefix(200)) + "…" : rawName
            if mode & setIDBits != 0 {
                throw FactoryError("\(shown) has a setuid or setgid bit; refusing the tarball")
            }
            if let link = archive_entry_hardlink(entry).map({ String(cString: $0) }) {
                let targetName = try relativeName(link, what: "hard link target of \(shown)")
                guard kinds[targetName] == S_IFREG else {
                    throw FactoryError("\(shown) is a hard link to \(link), which is not a regular file earlier in the tarball")
                }
                archive_entry_set_hardlink(entry, root + "/" + targetName)
            } else {
                switch kind {
                case S_IFREG, S_IFDIR:
                    break
                case S_IFLNK:
                    let link = archive_entry_symlink(entry).map { String(cString: $0) } ?? ""
                    guard !link.isEmpty, !link.hasPrefix("/"), staysInside(link, from: name) else {
                        throw FactoryError("\(shown) is a symlink to \(link), outside the tarball")
                    }
                case S_IFCHR, S_IFBLK:
                    throw FactoryError("\(shown) is a device node; refusing the tarball")
                case S_IFIFO:
                    throw FactoryError("\(shown) is a FIFO; refusing the tarball")
                default:
                    throw FactoryError("\(shown) is a socket or an unknown kind of file; refusing the tarball")
                }
            }
            if name.isEmpty {
                // "./": the extraction root itself, which exists already.
                guard kind == S_IFDIR else { throw FactoryError("the tarball's root entry is not a directory") }
                continue
            }
            let recorded: mode_t = archive_entry_hardlink(entry) != nil ? S_IFREG : kind
            if let earlier = kinds[name], earlier != S_IFDIR || recorded != S_IFDIR {
                throw FactoryError("\(shown) appears twice in the tarball")
            }
            kinds[name] = recorded
            archive_entry_set_pathname(entry, root + "/" + name)
            guard archive_write_header(writer, entry) == ARCHIVE_OK else {
                throw FactoryError("writing \(shown): \(message(writer))", kind: diskKind(writer))
            }
            if archive_entry_size(entry) > budget - written {
                throw FactoryError("\(shown) would unpack past \(budget) bytes, 100 times the tarball's size; refusing the tarball")
            }
            if archive_entry_size(entry) > 0 {
                try copyData(from: reader, to: writer, name: shown, written: &written, budget: budget)
            }
            guard archive_write_finish_entry(writer) == ARCHIVE_OK else {
                throw FactoryError("writing \(shown): \(message(writer))", kind: diskKind(writer))
            }
        }
        guard archive_write_close(writer) == ARCHIVE_OK else { throw FactoryError("finishing: \(message(writer))", kind: diskKind(writer)) }
    }

    /// After extraction and before libostree opens `repo`: the repository and its top-level
    /// entries are no links, every symlink under `extractionRoot` resolves inside `repo`, no
    /// file is special or setuid, and no regular file is linked from outside the tree.
    static func checkRepository(_ repo: String, extractionRoot: String) throws {
        guard let resolvedRepo = realpath(repo, nil) else { throw FactoryError("cannot resolve \(repo)") }
        let repoRoot = String(cString: resolvedRepo)
        free(resolvedRepo)
        var st = stat()
        guard lstat(repo, &st) == 0, st.st_mode & S_IFMT == S_IFDIR else {
            throw FactoryError("the repository directory is a link or not a directory")
        }
        for name in ["config", "objects", "tmp", "refs", "deltas"] {
            if lstat(repo + "/" + name, &st) == 0, st.st_mode & S_IFMT != (name == "config" ? S_IFREG : S_IFDIR) {
                throw FactoryError("the repository's \(name) is a link or of the wrong kind; refusing the tarball")
            }
        }
        guard lstat(extractionRoot, &st) == 0 else { throw FactoryError("cannot read \(extractionRoot)") }
        let device = st.st_dev
        var seen: [ino_t: (links: nlink_t, count: nlink_t, path: String)] = [:]
        func walk(_ dir: String, _ relative: String) throws {
            let entries = try FileManager.default.contentsOfDirectory(atPath: dir)
            for entry in entries {
                let path = dir + "/" + entry
                let shown = relative.isEmpty ? entry : relative + "/" + entry
                var st = stat()
                guard lstat(path, &st) == 0 else { throw FactoryError("cannot read \(shown)") }
                if st.st_mode & setIDBits != 0 { throw FactoryError("\(shown) has a setuid or setgid bit") }
                switch st.st_mode & S_IFMT {
                case S_IFDIR:
                    try walk(path, shown)
                case S_IFREG:
                    guard st.st_dev == device else { throw FactoryError("\(shown) is on another file system") }
                    let e = seen[st.st_ino] ?? (st.st_nlink, 0, shown)
                    seen[st.st_ino] = (e.links, e.count + 1, e.path)
                case S_IFLNK:
                    guard let target = realpath(path, nil) else {
                        throw FactoryError("\(shown) is a symlink that does not resolve inside the repository")
                    }
                    let resolved = String(cString: target)
                    free(target)
                    guard resolved == repoRoot || resolved.hasPrefix(repoRoot + "/") else {
                        throw FactoryError("\(shown) is a symlink that resolves outside the repository")
                    }
                default:
                    throw FactoryError("\(shown) is a special file")
                }
            }
        }
        try walk(extractionRoot, "")
        if let outside = seen.values.first(where: { $0.links > $0.count }) {
            throw FactoryError("\(outside.path) is hard-linked to a file outside the tarball")
        }
    }

    /// An entry name or hard link target as a path relative to the extraction root, without
    /// `.` components; "" for the root itself.
    private static func relativeName(_ raw: String, what: String) throws -> String {
        if raw.hasPrefix("/") { throw FactoryError("the \(what) \(raw) is an absolute path") }
        let parts = raw.split(separator: "/").filter { $0 != "." }
        if parts.contains("..") { throw FactoryError("the \(what) \(raw) contains ..") }
        return parts.joined(separator: "/")
    }

    /// Whether a relative symlink target, followed from the entry's directory, stays inside
    /// the extraction root as far as its text goes; symlinks it passes through are checked
    /// after extraction with realpath.
    private static func staysInside(_ link: String, from name: String) -> Bool {
        var depth = name.split(separator: "/").count - 1
        for part in link.split(separator: "/") where part != "." {
            depth += part == ".." ? -1 : 1
            if depth < 0 { return false }
        }
        return true
    }

    private static func copyData(from reader: OpaquePointer, to writer: OpaquePointer, name: String,
                                 written: inout Int64, budget: Int64) throws {
        var buffer: UnsafeRawPointer?
        var size = 0
        var offset: la_int64_t = 0
        while true {
            let status = archive_read_data_block(reader, &buffer, &size, &offset)
            if status == ARCHIVE_EOF { return }
            guard status == ARCHIVE_OK || status == ARCHIVE_WARN else {
                throw FactoryError("reading \(name): \(message(reader))")
            }
            written += Int64(size)
            if written > budget {
                throw FactoryError("\(name) would unpack past \(budget) bytes, 100 times the tarball's size; refusing the tarball")
            }
            guard archive_write_data_block(writer, buffer, size, offset) == ARCHIVE_OK else {
                throw FactoryError("writing \(name): \(message(writer))", kind: diskKind(writer))
            }
        }
    }

    /// storage when the disk failed the write (no space, I/O), else a bad tarball.
    private static func diskKind(_ archive: OpaquePointer) -> FailureKind {
        FactoryError.kind(ofErrno: archive_errno(archive)) ?? .badInput
    }

    /// libarchive's message, with the system's reason when it has one ("Write failed" alone
    /// does not say that the disk is full).
    private static func message(_ archive: OpaquePointer) -> String {
        let text = archive_error_string(archive).map { String(cString: $0) } ?? "unknown libarchive error"
        let code = archive_errno(archive)
        guard code > 0 else { return text }
        let reason = String(cString: strerror(code))
        return text.contains(reason) ? text : "\(text) (\(reason))"
    }
}
