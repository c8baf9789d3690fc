import DeltaFormat
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
import DeltaCompiler
#endif

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

/// The one bridge between URLSession and the fetch slots, which are plain blocking
/// Dispatch work: `perform` starts one request and blocks its slot on a semaphore that the
/// completion callback signals, cancelling the task once nothing arrived for the stall
/// timeout. URLSession's callbacks run on its own delegate queue; every field they share with
/// the waiting slot is in `state`. URLSession never follows a redirect itself:
/// `TarballFetcher.follow` does.
final class DownloadDelegate: NSObject, URLSessionDataDelegate, Sendable {
    /// Where a 200 body goes; nil for HEAD.
    let handle: FileHandle?
    /// Bytes a body may reach; 0: no limit.
    let limit: Int64
    let onProgress: @Sendable (Int64, Int64) -> Void
    /// Called with a 200 response before its first body byte is written (the proxy writes
    /// its own response head there).
    let onResponse: (@Sendable (HTTPURLResponse) throws -> Void)?

    private struct State {
        var done = DispatchSemaphore(value: 0)
        var response: HTTPURLResponse?
        var failure: FactoryError?
        var lastProgress = Date()
        var expected: Int64 = -1
        var received: Int64 = 0
        var nextReport: Int64 = 0
        /// Set once a 200 body is allowed; bytes of any other response (a redirect's or an
        /// error page, which URLSession may deliver before our cancel lands) are dropped.
        var accepting = false
        /// The task of the current hop; late callbacks of an earlier hop's task are ignored.
        var current: URLSessionTask?
    }
    private let state = Monitor(State())

    init(handle: FileHandle?, limit: Int64, onResponse: (@Sendable (HTTPURLResponse) throws -> Void)? = nil,
         onProgress: @escaping @Sendable (Int64, Int64) -> Void = { _, _ in }) {
        self.handle = handle
        self.limit = limit
        self.onResponse = onResponse
        self.onProgress = onProgress
    }

    /// Bytes received and announced by the last response.
    var counts: (received: Int64, expected: Int64) { state.withLock { ($0.received, $0.expected) } }

    /// Ready for the next hop of a redirect chain, with the body file emptied.
    func reset() {
        state.withLock { $0 = State() }
        if let handle { try? handle.truncate(atOffset: 0) }
    }

    /// Sends `request` and waits for its response (and body); throws what went wrong.
    func perform(_ request: URLRequest, stallTimeout: Double) throws -> HTTPURLResponse {
        let session = URLSession(configuration: .ephemeral, delegate: self, delegateQueue: nil)
        defer { session.finishTasksAndInvalidate() }
        let task = session.dataTask(with: request)
        let done = state.withLock { s in s.current = task; return s.done }
        task.resume()
        // The watchdog: woken every 200 ms to compare the idle time with the stall timeout.
        while done.wait(timeout: .now() + .milliseconds(200)) == .timedOut {
            guard stallTimeout > 0 else { continue }
            if state.withLock({ Date().timeIntervalSince($0.lastProgress) }) > stallTimeout {
                fail("no data for \(Int(stallTimeout)) seconds (--download-stall-timeout)")
                task.cancel()
            }
        }
        let (response, failure) = state.withLock { ($0.response, $0.failure) }
        if let failure { throw failure }
        guard let response else { throw FactoryError.network("no HTTP response") }
        return response
    }

    private func isCurrent(_ task: URLSessionTask) -> Bool {
        state.withLock { $0.current === task }
    }

    private func fail(_ message: String, kind: FailureKind = .network) {
        state.withLock { if $0.failure == nil { $0.failure = FactoryError(message, kind: kind) } }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                    newRequest request: URLRequest, completionHandler: @escaping @Sendable (URLRequest?) -> Void) {
        completionHandler(nil)
    }

    // Each callback below first drops anything from a task other than the current hop's.

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                    completionHandler: @escaping @Sendable (URLSession.ResponseDisposition) -> Void) {
        guard isCurrent(dataTask) else { completionHandler(.cancel); return }
        let http = response as? HTTPURLResponse
        state.withLock { $0.response = http; $0.lastProgress = Date() }
        guard let http, http.statusCode == 200, handle != nil else {
            // HEAD, a redirect or an error status: no body is wanted. FoundationNetworking
            // may go on receiving after a .cancel disposition, so the task is cancelled too.
            completionHandler(.cancel)
            dataTask.cancel()
            return
        }
        let expected = response.expectedContentLength
        state.withLock { $0.expected = expected; $0.nextReport = expected > 0 ? expected / 4 : 64 << 20 }
        if limit > 0 && expected > limit {
            fail("the server announces \(expected) bytes, more than the limit of \(limit) bytes (--max-download-size)")
            completionHandler(.cancel)
            dataTask.cancel()
            return
        }
        if let onResponse {
            do { try onResponse(http) } catch {
                fail("writing the response: \(plainReason(error))")
                completionHandler(.cancel)
                dataTask.cancel()
                return
            }
        }
        state.withLock { $0.accepting = true }
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        guard isCurrent(dataTask) else { return }
        let accepting = state.withLock { $0.lastProgress = Date(); return $0.accepting }
        guard let handle, accepting else {
            if handle != nil { dataTask.cancel() }
            return
        }
        let received = state.withLock { $0.received }
        if limit > 0 && received + Int64(data.count) > limit {
            fail("stopped at the limit of \(limit) bytes (--max-download-size)")
            dataTask.cancel()
            return
        }
        do { try handle.write(contentsOf: data) } catch {
            fail("writing the download: \(plainReason(error))", kind: FactoryError.kind(of: error) ?? .storage)
            dataTask.cancel()
            return
        }
        // Callbacks of one session come one at a time, so only this one moves the counters.
        let report: (Int64, Int64)? = state.withLock { s in
            s.received += Int64(data.count)
            guard s.received >= s.nextReport else { return nil }
            s.nextReport += s.expected > 0 ? max(1, s.expected / 4) : 64 << 20
            return (s.received, s.expected)
        }
        if let report { onProgress(report.0, report.1) }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
        guard isCurrent(task) else { return }
        // Our own cancel (HEAD, a redirect, an error status) is not a failure.
        if let error {
            let status = state.withLock { $0.response?.statusCode }
            let wanted = handle != nil && status == 200
            if wanted || status == nil { fail(urlErrorText(error)) }
        }
        state.withLock { $0.done }.signal()
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
