import DeltaFormat
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
import DeltaCompiler
#endif

/// Checks, downloads and unpacks repo tarballs for `ci-job`.
///
/// A tarball holds an OSTree repository either at its root or in one top-level directory
/// (Foundries' builds use `ostree_repo/`). gzip, bzip2, xz and zstd compression are recognised
/// by libarchive. Tarballs come from elsewhere and the job runs as root with secrets, so:
/// headers go only to the origin they were given for, downloads are bounded in size and in
/// idle time, and extraction refuses anything but plain files, directories and links that
/// stay inside the repository (`SafeExtractor`).
final class TarballFetcher: Sendable {
    /// Redirects followed per request, as curl's default --max-redirs is far more generous
    /// than a tarball server needs.
    static let maxRedirects = 5
    /// The download limit when neither --max-download-size nor a HEAD size is known: 64 GB.
    static let unknownSizeLimit: Int64 = 64_000_000_000
    /// With a size announced by HEAD, a download may reach this multiple of it (at least
    /// 64 MB more), capped at `unknownSizeLimit`.
    static let announcedMultiple: Int64 = 4

    let headers: [(String, String)]
    let parallel: Int
    let directory: String
    /// Per tarball, in bytes; nil: `defaultLimit`.
    let maxDownloadSize: Int64?
    /// Seconds without a byte before a request is abandoned; 0: never.
    let stallTimeout: Double
    /// Where progress lines go (stderr in the CLI); called from the download slots.
    private let logLine: @Sendable (String) -> Void
    /// Sizes the HEAD requests announced, by URL.
    private let announced = Monitor<[String: Int64]>([:])
    /// Keeps log lines whole when slots report at once.
    private let logLock = Monitor<Void>(())

    init(headers: [(String, String)], parallel: Int, directory: String, maxDownloadSize: Int64? = nil,
         stallTimeout: Double = 0, log: @escaping @Sendable (String) -> Void = { _ in }) {
        self.headers = headers
        self.parallel = max(1, parallel)
        self.directory = directory
        self.maxDownloadSize = maxDownloadSize
        self.stallTimeout = stallTimeout
        self.logLine = log
    }

    static func defaultLimit(announced: Int64?) -> Int64 {
        guard let announced, announced > 0 else { return unknownSizeLimit }
        let (product, overflow) = announced.multipliedReportingOverflow(by: announcedMultiple)
        if overflow { return unknownSizeLimit }
        return min(unknownSizeLimit, max(product, announced + 64_000_000))
    }

    /// Every URL must answer before anything is downloaded: a HEAD request with status 200 for
    /// http(s), an existing regular file for file://. Returns the total size where known.
    func check(_ urls: [String]) throws -> Int64 {
        let results = Monitor<(total: Int64, problems: [String], kinds: Set<FailureKind>)>((0, [], []))
        try forEachInParallel(urls, width: parallel) { url in
            do {
                let size = try self.probe(url)
                results.withLock { r in r.total = r.total.addingReportingOverflow(size).overflow ? .max : r.total + size }
            } catch {
                let kind = FactoryError.kind(of: error) ?? .network
                results.withLock { r in r.problems.append("\(url): \(error)"); r.kinds.insert(kind) }
            }
        }
        let (total, problems, kinds) = results.withLock { ($0.total, $0.problems, $0.kinds) }
        if !problems.isEmpty {
            // A missing file:// tarball is the deltas file's fault; any network failure makes it a network one.
            throw FactoryError("\(problems.count) of \(urls.count) tarballs cannot be fetched, nothing was downloaded: "
                               + problems.sorted().joined(separator: "; "), kind: kinds.contains(.network) ? .network : kinds.first!)
        }
        return total
    }

    /// Downloads (http/https) or opens (file) each tarball, extracts it into its own
    /// directory, and returns url → repository path inside that directory.
    func fetchAndExtract(_ urls: [String]) throws -> [String: String] {
        let repos = Monitor<[String: String]>([:])
        let indexed = urls.enumerated().map { (index: $0.offset, url: $0.element) }
        try forEachInParallel(indexed, width: parallel) { index, url in
            let archive: String
            if let path = TarballFetcher.filePath(url) {
                archive = path
            } else {
                archive = "\(self.directory)/download-\(index)"
                try self.download(url, to: archive, label: "[\(index + 1)/\(urls.count)]")
            }
            let target = "\(self.directory)/repo-\(index)"
            do {
                try SafeExtractor.extract(archive, into: target)
            } catch let e as FactoryError {
                throw FactoryError("extracting \(url): \(e.description)", kind: e.failureKind)
            }
            if archive != TarballFetcher.filePath(url) { unlink(archive) }
            let repo = try TarballFetcher.locateRepository(in: target, url: url)
            repos.withLock { $0[url] = repo }
            self.log("[\(index + 1)/\(urls.count)] extracted \(url)")
        }
        return repos.withLock { $0 }
    }

    /// The path of a `file:///absolute` URL; nil for any other scheme.
    static func filePath(_ url: String) -> String? {
        guard let u = URL(string: url), u.scheme?.lowercased() == "file" else { return nil }
        return u.path
    }

    static func validate(_ url: String) throws {
        try validate(url, what: "tarball URL")
    }

    /// http(s) with a host, or file:///absolute. `what` names the URL in the message.
    static func validate(_ url: String, what: String) throws {
        guard let u = URL(string: url), let scheme = u.scheme?.lowercased(), ["http", "https", "file"].contains(scheme) else {
            throw FactoryError("unsupported \(what) \(url): use http://, https:// or file:///absolute/path")
        }
        if scheme == "file" {
            // file://host/... names another machine and file:relative depends on the working
            // directory; neither is what a CI deltas file means.
            guard url.lowercased().hasPrefix("file:///"), (u.host ?? "").isEmpty, u.path.hasPrefix("/") else {
                throw FactoryError("unsupported \(what) \(url): a file URL must be file:///absolute/path")
            }
        } else if (u.host ?? "").isEmpty {
            throw FactoryError("unsupported \(what) \(url): no host")
        }
    }

    /// The repository is the extraction root, or its only top-level directory; either must
    /// have passed `SafeExtractor.checkRepository`.
    static func locateRepository(in root: String, url: String) throws -> String {
        let fm = FileManager.default
        func isDirectory(_ p: String) -> Bool {
            var st = stat()
            return lstat(p, &st) == 0 && st.st_mode & S_IFMT == S_IFDIR
        }
        // Links are not followed here: checkRepository refuses a linked config or objects
        // with its own message.
        func isRepo(_ p: String) -> Bool {
            var st = stat()
            return isDirectory(p) && lstat(p + "/config", &st) == 0 && lstat(p + "/objects", &st) == 0
        }
        var candidate: String?
        if isRepo(root) {
            candidate = root
        } else {
            let entries = (try? fm.contentsOfDirectory(atPath: root))?.filter { !$0.hasPrefix(".") } ?? []
            if entries.count == 1 {
                let only = root + "/" + entries[0]
                var st = stat()
                if lstat(only, &st) == 0, st.st_mode & S_IFMT == S_IFLNK {
                    throw FactoryError("extracting \(url): the top-level entry \(entries[0]) is a symlink; refusing it as the repository")
                }
                if isRepo(only) { candidate = only }
            }
        }
        guard let candidate else {
            throw FactoryError("\(url) holds no OSTree repository at its root or in a single top-level directory")
        }
        do {
            try SafeExtractor.checkRepository(candidate, extractionRoot: root)
        } catch let e as FactoryError {
            throw FactoryError("extracting \(url): \(e.description)", kind: e.failureKind)
        }
        return candidate
    }

    private func probe(_ url: String) throws -> Int64 {
        if let path = TarballFetcher.filePath(url) {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), !isDir.boolValue else {
                throw FactoryError("no such file")
            }
            return (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int64) ?? 0
        }
        let http = try follow(url, method: "HEAD", delegate: DownloadDelegate(handle: nil, limit: 0))
        guard http.statusCode == 200 else { throw FactoryError.network("HTTP \(http.statusCode)") }
        let size = max(0, http.expectedContentLength)
        announced.withLock { $0[url] = size }
        return size
    }

    /// The request for one hop. `--http-header`s are added only while `trusted`.
    private func request(_ url: URL, method: String, trusted: Bool) -> URLRequest {
        var request = URLRequest(url: url)
        request.httpMethod = method
        // The watchdog in DownloadDelegate.wait enforces the stall timeout with a clear
        // message; URLSession's own idle timer is only a backstop behind it.
        request.timeoutInterval = stallTimeout > 0 ? stallTimeout + 30 : 365 * 86_400
        if trusted { headers.forEach { request.setValue($1, forHTTPHeaderField: $0) } }
        return request
    }

    /// Sends `method` to `url` and follows up to `maxRedirects` redirects by hand, as curl
    /// does without --location-trusted: the headers go only to the tarball URL's origin
    /// (scheme, host and port), and once a hop leaves that origin they are not sent again,
    /// even if a later hop comes back. Only http and https are followed.
    func follow(_ url: String, method: String, delegate: DownloadDelegate) throws -> HTTPURLResponse {
        guard var current = URL(string: url) else { throw FactoryError("invalid URL") }
        let origin = Origin(current)
        var trusted = true
        for hop in 0...TarballFetcher.maxRedirects {
            delegate.reset()
            let http = try delegate.perform(request(current, method: method, trusted: trusted), stallTimeout: stallTimeout)
            guard [301, 302, 303, 307, 308].contains(http.statusCode) else { return http }
            guard hop < TarballFetcher.maxRedirects else { break }
            guard let location = http.value(forHTTPHeaderField: "Location"),
                  let next = URL(string: location, relativeTo: current)?.absoluteURL else {
                throw FactoryError.network("HTTP \(http.statusCode) without a usable Location header")
            }
            guard let scheme = next.scheme?.lowercased(), ["http", "https"].contains(scheme), next.host != nil else {
                throw FactoryError.network("refusing a redirect to \(next.scheme ?? "a relative") URL: only http and https are followed")
            }
            if Origin(next) != origin { trusted = false }
            current = next
        }
        throw FactoryError.network("more than \(TarballFetcher.maxRedirects) redirects")
    }

    private func download(_ url: String, to path: String, label: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            let code = errno
            throw FactoryError("cannot create \(path): \(String(cString: strerror(code)))", kind: FactoryError.kind(ofErrno: code) ?? .storage)
        }
        let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        defer { try? handle.close() }
        let announcedSize = announced.withLock { $0[url] }
        let limit = maxDownloadSize ?? TarballFetcher.defaultLimit(announced: announcedSize)
        let delegate = DownloadDelegate(handle: handle, limit: limit, onProgress: { [weak self] received, expected in
            self?.log("\(label) \(url): \(progressText(received, expected))")
        })
        let http: HTTPURLResponse
        do {
            http = try follow(url, method: "GET", delegate: delegate)
        } catch let e as FactoryError {
            throw FactoryError("downloading \(url): \(e.description)", kind: e.failureKind)
        }
        if http.statusCode != 200 { throw FactoryError.network("downloading \(url): HTTP \(http.statusCode)") }
        let (received, expected) = delegate.counts
        if expected > 0 && received != expected {
            throw FactoryError.network("downloading \(url): got \(received) of \(expected) bytes")
        }
    }

    func log(_ line: String) {
        logLock.withLock { _ in logLine(line) }
    }
}

private func progressText(_ received: Int64, _ expected: Int64) -> String {
    func mb(_ n: Int64) -> String { String(format: "%.1f MB", Double(n) / 1e6) }
    guard expected > 0 else { return mb(received) }
    return "\(received * 100 / expected)% (\(mb(received)) of \(mb(expected)))"
}
