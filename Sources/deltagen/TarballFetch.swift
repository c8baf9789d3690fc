import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Checks, downloads and unpacks repo tarballs for `ci-job`.
///
/// A tarball holds an OSTree repository either at its root or in one top-level directory
/// (Foundries' builds use `ostree_repo/`). Any compression GNU tar recognises on its own
/// works: gzip, bzip2, xz, zstd.
final class TarballFetcher {
    let headers: [(String, String)]
    let parallel: Int
    let directory: String
    private let lock = NSLock()

    init(headers: [(String, String)], parallel: Int, directory: String) {
        self.headers = headers
        self.parallel = max(1, parallel)
        self.directory = directory
    }

    /// Every URL must answer before anything is downloaded: a HEAD request with status 200 for
    /// http(s), an existing regular file for file://. Returns the total size where known.
    func check(_ urls: [String]) throws -> Int64 {
        var total: Int64 = 0
        var problems: [String] = []
        try parallelForEach(urls) { url in
            do {
                let size = try self.probe(url)
                self.lock.lock(); total += size; self.lock.unlock()
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
            try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
            let tar = try run(["tar", "-xf", archive, "-C", target, "--no-same-owner"])
            guard tar.status == 0 else { throw CLIError("extracting \(url): \(tar.stderr.trimmed)") }
            if archive != TarballFetcher.filePath(url) { try? FileManager.default.removeItem(atPath: archive) }
            let repo = try TarballFetcher.locateRepository(in: target, url: url)
            self.lock.lock(); repos[url] = repo; self.lock.unlock()
            self.log("[\(index + 1)/\(urls.count)] extracted \(url)")
        }
        return repos
    }

    static func filePath(_ url: String) -> String? {
        guard let u = URL(string: url), u.scheme == "file" else { return nil }
        return u.path
    }

    static func validate(_ url: String) throws {
        guard let u = URL(string: url), let scheme = u.scheme, ["http", "https", "file"].contains(scheme) else {
            throw CLIError("unsupported tarball URL \(url): use http://, https:// or file://")
        }
    }

    /// The repository is the extraction root, or its only top-level directory.
    static func locateRepository(in root: String, url: String) throws -> String {
        let fm = FileManager.default
        func isRepo(_ p: String) -> Bool { fm.fileExists(atPath: p + "/config") && fm.fileExists(atPath: p + "/objects") }
        if isRepo(root) { return root }
        let entries = (try? fm.contentsOfDirectory(atPath: root))?.filter { !$0.hasPrefix(".") } ?? []
        if entries.count == 1, isRepo(root + "/" + entries[0]) { return root + "/" + entries[0] }
        throw CLIError("\(url) holds no OSTree repository at its root or in a single top-level directory")
    }

    private func probe(_ url: String) throws -> Int64 {
        if let path = TarballFetcher.filePath(url) {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), !isDir.boolValue else {
                throw CLIError("no such file")
            }
            return (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int64) ?? 0
        }
        var request = URLRequest(url: URL(string: url)!)
        request.httpMethod = "HEAD"
        headers.forEach { request.setValue($1, forHTTPHeaderField: $0) }
        let (response, error) = synchronous(request)
        if let error { throw CLIError(error.localizedDescription) }
        guard let http = response as? HTTPURLResponse else { throw CLIError("no HTTP response") }
        guard http.statusCode == 200 else { throw CLIError("HTTP \(http.statusCode)") }
        return max(0, http.expectedContentLength)
    }

    private func synchronous(_ request: URLRequest) -> (URLResponse?, Error?) {
        let session = URLSession(configuration: .ephemeral)
        defer { session.finishTasksAndInvalidate() }
        let done = DispatchSemaphore(value: 0)
        let result = Locked<(URLResponse?, Error?)>((nil, nil))
        session.dataTask(with: request) { _, response, error in
            result.value = (response, error)
            done.signal()
        }.resume()
        done.wait()
        return result.value
    }

    private func download(_ url: String, to path: String, label: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: nil),
              let handle = FileHandle(forWritingAtPath: path) else { throw CLIError("cannot create \(path)") }
        defer { try? handle.close() }
        let delegate = DownloadDelegate(handle: handle) { [weak self] received, expected in
            self?.log("\(label) \(url): \(progressText(received, expected))")
        }
        let session = URLSession(configuration: .ephemeral, delegate: delegate, delegateQueue: nil)
        defer { session.finishTasksAndInvalidate() }
        var request = URLRequest(url: URL(string: url)!)
        headers.forEach { request.setValue($1, forHTTPHeaderField: $0) }
        session.dataTask(with: request).resume()
        delegate.done.wait()
        if let status = delegate.status, status != 200 { throw CLIError("downloading \(url): HTTP \(status)") }
        if let error = delegate.error { throw CLIError("downloading \(url): \(error.localizedDescription)") }
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

/// URLSession calls it on its own serial delegate queue, one callback at a time.
private final class DownloadDelegate: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    let handle: FileHandle
    let onProgress: (Int64, Int64) -> Void
    let done = DispatchSemaphore(value: 0)
    var status: Int?
    var error: Error?
    var writeError: Error?
    var expected: Int64 = -1
    var received: Int64 = 0
    private var nextReport: Int64 = 0

    init(handle: FileHandle, onProgress: @escaping (Int64, Int64) -> Void) {
        self.handle = handle
        self.onProgress = onProgress
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                    completionHandler: @escaping (URLSession.ResponseDisposition) -> Void) {
        status = (response as? HTTPURLResponse)?.statusCode
        expected = response.expectedContentLength
        nextReport = expected > 0 ? expected / 4 : 64 << 20
        completionHandler(status == 200 ? .allow : .cancel)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        do { try handle.write(contentsOf: data) } catch {
            writeError = error
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
        // A cancel for a non-200 status is ours; the status says what went wrong.
        if status == 200 { self.error = writeError ?? error }
        done.signal()
    }
}

private func progressText(_ received: Int64, _ expected: Int64) -> String {
    func mb(_ n: Int64) -> String { String(format: "%.1f MB", Double(n) / 1e6) }
    guard expected > 0 else { return mb(received) }
    return "\(received * 100 / expected)% (\(mb(received)) of \(mb(expected)))"
}

struct ProcessResult {
    var status: Int32
    var stderr: String
}

/// Runs a helper program (tar) with its stderr captured for the error message.
func run(_ arguments: [String]) throws -> ProcessResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    let err = Pipe()
    process.standardError = err
    process.standardOutput = FileHandle.nullDevice
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let data = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return ProcessResult(status: process.terminationStatus, stderr: String(decoding: data, as: UTF8.self))
}

extension String {
    var trimmed: String { trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\n").joined(separator: " ") }
}
