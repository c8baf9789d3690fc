import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Checks, downloads and unpacks repo tarballs for `ci-job`.
///
/// A tarball holds an OSTree repository either at its root or in one top-level directory
/// (Foundries' builds use `ostree_repo/`). gzip, bzip2, xz and zstd compression are recognised
/// by libarchive. Tarballs come from elsewhere and the job runs as root with secrets, so:
/// headers go only to the origin they were given for, downloads are bounded in size and in
/// idle time, and extraction refuses anything but plain files, directories and links that
/// stay inside the repository (`SafeExtractor`).
final class TarballFetcher {
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
    private let lock = NSLock()
    private var announced: [String: Int64] = [:]

    init(headers: [(String, String)], parallel: Int, directory: String, maxDownloadSize: Int64? = nil,
         stallTimeout: Double = 0) {
        self.headers = headers
        self.parallel = max(1, parallel)
        self.directory = directory
        self.maxDownloadSize = maxDownloadSize
        self.stallTimeout = stallTimeout
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
        var total: Int64 = 0
        var problems: [String] = []
        try parallelForEach(urls) { url in
            do {
                let size = try self.probe(url)
                self.lock.lock(); total = total.addingReportingOverflow(size).overflow ? .max : total + size; self.lock.unlock()
            } catch {
                self.lock.lock(); problems.append("\(url): \(error)"); self.lock.unlock()
            }
        }
        if !problems.isEmpty {
            throw CLIError("\(problems.count) of \(urls.count) tarballs cannot be fetched, nothing was downloaded: "
                           + problems.sorted().joined(separator: "; "))
        }
        return total
    }

    /// Downloads (http/https) or opens (file) each tarball, extracts it into its own
    /// directory, and returns url → repository path inside that directory.
    func fetchAndExtract(_ urls: [String]) throws -> [String: String] {
        var repos: [String: String] = [:]
        let indexed = Array(urls.enumerated())
        try parallelForEach(indexed) { index, url in
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
            } catch let e as CLIError {
                throw CLIError("extracting \(url): \(e.description)")
            }
            if archive != TarballFetcher.filePath(url) { unlink(archive) }
            let repo = try TarballFetcher.locateRepository(in: target, url: url)
            self.lock.lock(); repos[url] = repo; self.lock.unlock()
            self.log("[\(index + 1)/\(urls.count)] extracted \(url)")
        }
        return repos
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
            throw CLIError("unsupported \(what) \(url): use http://, https:// or file:///absolute/path")
        }
        if scheme == "file" {
            // file://host/... names another machine and file:relative depends on the working
            // directory; neither is what a CI deltas file means.
            guard url.lowercased().hasPrefix("file:///"), (u.host ?? "").isEmpty, u.path.hasPrefix("/") else {
                throw CLIError("unsupported \(what) \(url): a file URL must be file:///absolute/path")
            }
        } else if (u.host ?? "").isEmpty {
            throw CLIError("unsupported \(what) \(url): no host")
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
                    throw CLIError("extracting \(url): the top-level entry \(entries[0]) is a symlink; refusing it as the repository")
                }
                if isRepo(only) { candidate = only }
            }
        }
        guard let candidate else {
            throw CLIError("\(url) holds no OSTree repository at its root or in a single top-level directory")
        }
        do {
            try SafeExtractor.checkRepository(candidate, extractionRoot: root)
        } catch let e as CLIError {
            throw CLIError("extracting \(url): \(e.description)")
        }
        return candidate
    }

    private func probe(_ url: String) throws -> Int64 {
        if let path = TarballFetcher.filePath(url) {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), !isDir.boolValue else {
                throw CLIError("no such file")
            }
            return (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int64) ?? 0
        }
        let http = try follow(url, method: "HEAD", delegate: DownloadDelegate(handle: nil, limit: 0))
        guard http.statusCode == 200 else { throw CLIError("HTTP \(http.statusCode)") }
        let size = max(0, http.expectedContentLength)
        lock.lock(); announced[url] = size; lock.unlock()
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
        guard var current = URL(string: url) else { throw CLIError("invalid URL") }
        let origin = Origin(current)
        var trusted = true
        for hop in 0...TarballFetcher.maxRedirects {
            delegate.reset()
            let session = URLSession(configuration: .ephemeral, delegate: delegate, delegateQueue: nil)
            defer { session.finishTasksAndInvalidate() }
            let task = session.dataTask(with: request(current, method: method, trusted: trusted))
            delegate.begin(task)
            task.resume()
            delegate.wait(task: task, stallTimeout: stallTimeout)
            if let error = delegate.failure { throw error }
            guard let http = delegate.response else { throw CLIError("no HTTP response") }
            guard [301, 302, 303, 307, 308].contains(http.statusCode) else { return http }
            guard hop < TarballFetcher.maxRedirects else { break }
            guard let location = http.value(forHTTPHeaderField: "Location"),
                  let next = URL(string: location, relativeTo: current)?.absoluteURL else {
                throw CLIError("HTTP \(http.statusCode) without a usable Location header")
            }
            guard let scheme = next.scheme?.lowercased(), ["http", "https"].contains(scheme), next.host != nil else {
                throw CLIError("refusing a redirect to \(next.scheme ?? "a relative") URL: only http and https are followed")
            }
            if Origin(next) != origin { trusted = false }
            current = next
        }
        throw CLIError("more than \(TarballFetcher.maxRedirects) redirects")
    }

    private func download(_ url: String, to path: String, label: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw CLIError("cannot create \(path): \(String(cString: strerror(errno)))") }
        let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        defer { try? handle.close() }
        lock.lock(); let announcedSize = announced[url]; lock.unlock()
        let limit = maxDownloadSize ?? TarballFetcher.defaultLimit(announced: announcedSize)
        let delegate = DownloadDelegate(handle: handle, limit: limit) { [weak self] received, expected in
            self?.log("\(label) \(url): \(progressText(received, expected))")
        }
        let http: HTTPURLResponse
        do {
            http = try follow(url, method: "GET", delegate: delegate)
        } catch let e as CLIError {
            throw CLIError("downloading \(url): \(e.description)")
        }
        if http.statusCode != 200 { throw CLIError("downloading \(url): HTTP \(http.statusCode)") }
        if delegate.expected > 0 && delegate.received != delegate.expected {
            throw CLIError("downloading \(url): got \(delegate.received) of \(delegate.expected) bytes")
        }
    }

    func log(_ line: String) {
        lock.lock(); defer { lock.unlock() }
        FileHandle.standardError.write(Data("\(line)\n".utf8))
    }

    /// Runs `body` on up to `parallel` items at once; the first error stops new work and is rethrown.
    func parallelForEach<T>(_ items: [T], _ body: @escaping (T) throws -> Void) throws {
        let state = Locked<(next: Int, error: Error?)>((0, nil))
        let group = DispatchGroup()
        for _ in 0..<min(parallel, items.count) {
            group.enter()
            Thread.detachNewThread {
                defer { group.leave() }
                while let item = state.update({ s -> T? in
                    guard s.error == nil, s.next < items.count else { return nil }
                    s.next += 1
                    return items[s.next - 1]
                }) {
                    do { try body(item) } catch {
                        state.update { s in if s.error == nil { s.error = error } }
                    }
                }
            }
        }
        group.wait()
        if let error = state.value.error { throw error }
    }
}

/// A value shared between threads, guarded by a lock.
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value

    init(_ value: Value) { stored = value }

    var value: Value {
        get { lock.lock(); defer { lock.unlock() }; return stored }
        set { lock.lock(); stored = newValue; lock.unlock() }
    }

    @discardableResult
    func update<R>(_ body: (inout Value) -> R) -> R {
        lock.lock(); defer { lock.unlock() }
        return body(&stored)
    }
}

/// A URL's origin: scheme, host and port, with the scheme's default port filled in.
struct Origin: Equatable {
    var scheme: String
    var host: String
    var port: Int

    init(_ url: URL) {
        scheme = url.scheme?.lowercased() ?? ""
        host = url.host?.lowercased() ?? ""
        port = url.port ?? (scheme == "https" ? 443 : scheme == "http" ? 80 : -1)
    }
}

/// One request's outcome, filled in on URLSession's delegate queue and read by the waiting
/// thread. URLSession never follows a redirect itself: `TarballFetcher.follow` does.
final class DownloadDelegate: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    /// Where a 200 body goes; nil for HEAD.
    let handle: FileHandle?
    /// Bytes a body may reach; 0: no limit.
    let limit: Int64
    let onProgress: (Int64, Int64) -> Void
    /// Called with a 200 response before its first body byte is written (the proxy writes
    /// its own response head there).
    var onResponse: ((HTTPURLResponse) throws -> Void)?
    private let lock = NSLock()
    private var done = DispatchSemaphore(value: 0)
    private var _response: HTTPURLResponse?
    private var _failure: CLIError?
    private var lastProgress = Date()
    private(set) var expected: Int64 = -1
    private(set) var received: Int64 = 0
    private var nextReport: Int64 = 0
    /// Set once a 200 body is allowed; bytes of any other response (a redirect's or an
    /// error page, which URLSession may deliver before our cancel lands) are dropped.
    private var accepting = false
    /// The task of the current hop; late callbacks of an earlier hop's task are ignored.
    private var current: URLSessionTask?

    init(handle: FileHandle?, limit: Int64, onProgress: @escaping (Int64, Int64) -> Void = { _, _ in }) {
        self.handle = handle
        self.limit = limit
        self.onProgress = onProgress
    }

    var response: HTTPURLResponse? { lock.lock(); defer { lock.unlock() }; return _response }
    var failure: CLIError? { lock.lock(); defer { lock.unlock() }; return _failure }

    /// Ready for the next hop of a redirect chain, with the body file emptied.
    func reset() {
        lock.lock(); defer { lock.unlock() }
        done = DispatchSemaphore(value: 0)
        _response = nil
        _failure = nil
        lastProgress = Date()
        expected = -1
        received = 0
        accepting = false
        if let handle { try? handle.truncate(atOffset: 0) }
    }

    func begin(_ task: URLSessionTask) {
        lock.lock(); current = task; lock.unlock()
    }

    private func isCurrent(_ task: URLSessionTask) -> Bool {
        lock.lock(); defer { lock.unlock() }
        return current === task
    }

    private func fail(_ message: String) {
        lock.lock(); if _failure == nil { _failure = CLIError(message) }; lock.unlock()
    }

    /// Waits for the task to end, and cancels it once nothing arrived for `stallTimeout` seconds.
    func wait(task: URLSessionTask, stallTimeout: Double) {
        lock.lock(); let done = self.done; lock.unlock()
        while done.wait(timeout: .now() + .milliseconds(200)) == .timedOut {
            guard stallTimeout > 0 else { continue }
            lock.lock(); let idle = Date().timeIntervalSince(lastProgress); lock.unlock()
            if idle > stallTimeout {
                fail("no data for \(Int(stallTimeout)) seconds (--download-stall-timeout)")
                task.cancel()
            }
        }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                    newRequest request: URLRequest, completionHandler: @escaping (URLRequest?) -> Void) {
        completionHandler(nil)
    }

    // Each callback below first drops anything from a task other than the current hop's.

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                    completionHandler: @escaping (URLSession.ResponseDisposition) -> Void) {
        guard isCurrent(dataTask) else { completionHandler(.cancel); return }
        let http = response as? HTTPURLResponse
        lock.lock()
        _response = http
        lastProgress = Date()
        lock.unlock()
        guard let http, http.statusCode == 200, handle != nil else {
            // HEAD, a redirect or an error status: no body is wanted. FoundationNetworking
            // may go on receiving after a .cancel disposition, so the task is cancelled too.
            completionHandler(.cancel)
            dataTask.cancel()
            return
        }
        expected = response.expectedContentLength
        if limit > 0 && expected > limit {
            fail("the server announces \(expected) bytes, more than the limit of \(limit) bytes (--max-download-size)")
            completionHandler(.cancel)
            dataTask.cancel()
            return
        }
        nextReport = expected > 0 ? expected / 4 : 64 << 20
        if let onResponse {
            do { try onResponse(http) } catch {
                fail("writing the response: \(plainReason(error))")
                completionHandler(.cancel)
                dataTask.cancel()
                return
            }
        }
        accepting = true
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        guard isCurrent(dataTask) else { return }
        lock.lock(); lastProgress = Date(); lock.unlock()
        guard let handle, accepting else {
            if handle != nil { dataTask.cancel() }
            return
        }
        if limit > 0 && received + Int64(data.count) > limit {
            fail("stopped at the limit of \(limit) bytes (--max-download-size)")
            dataTask.cancel()
            return
        }
        do { try handle.write(contentsOf: data) } catch {
            fail("writing the download: \(plainReason(error))")
            dataTask.cancel()
            return
        }
        received += Int64(data.count)
        if received >= nextReport {
            onProgress(received, expected)
            nextReport += expected > 0 ? max(1, expected / 4) : 64 << 20
        }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
        guard isCurrent(task) else { return }
        // Our own cancel (HEAD, a redirect, an error status) is not a failure.
        if let error {
            let wanted = handle != nil && response?.statusCode == 200
            if wanted || response == nil { fail(urlErrorText(error)) }
        }
        lock.lock(); let done = self.done; lock.unlock()
        done.signal()
    }
}

/// A URLSession error as a short phrase; FoundationNetworking's own text is only a code.
private func urlErrorText(_ error: Error) -> String {
    guard let e = error as? URLError else { return plainReason(error) }
    switch e.code {
    case .cannotConnectToHost: return "connection refused"
    case .cannotFindHost, .dnsLookupFailed: return "cannot resolve the host name"
    case .timedOut: return "timed out"
    case .networkConnectionLost: return "the connection was lost"
    case .notConnectedToInternet: return "no network"
    case .secureConnectionFailed, .serverCertificateUntrusted, .serverCertificateHasBadDate,
         .serverCertificateNotYetValid, .serverCertificateHasUnknownRoot, .clientCertificateRejected:
        return "TLS connection failed (certificate or handshake)"
    case .badServerResponse: return "bad response from the server"
    case .cancelled: return "cancelled"
    default: return "network error \(e.code.rawValue)"
    }
}

private func progressText(_ received: Int64, _ expected: Int64) -> String {
    func mb(_ n: Int64) -> String { String(format: "%.1f MB", Double(n) / 1e6) }
    guard expected > 0 else { return mb(received) }
    return "\(received * 100 / expected)% (\(mb(received)) of \(mb(expected)))"
}

extension String {
    var trimmed: String { trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\n").joined(separator: " ") }
}
