import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
import DeltaCompiler
#endif

/// A forwarding HTTP proxy on 127.0.0.1 for libostree's pull from `--remote-url`.
///
/// libostree (over libcurl) follows redirects itself and sends `http-headers` to whatever host
/// a redirect names, so `--http-header OSF-TOKEN=…` would reach another origin. The pull is
/// pointed at this proxy instead, which fetches each path from the remote with the same
/// rules as the tarball fetches (`TarballFetcher.follow`): headers only to the remote's own
/// origin, at most 5 redirects, http and https only, the size limit and stall timeout. The
/// path starts with a random secret, so another local user cannot borrow the credentials.
final class OriginProxy: Sendable {
    let remote: String
    let secret: String
    let port: Int
    private let fetcher: TarballFetcher
    private let listener: Int32

    var localURL: String { "http://127.0.0.1:\(port)/\(secret)" }

    init(remote: String, fetcher: TarballFetcher) throws {
        self.remote = remote.hasSuffix("/") ? String(remote.dropLast()) : remote
        self.fetcher = fetcher
        secret = (0..<16).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard listener >= 0 else { throw FactoryError("cannot open a local socket: \(posixReason(errno))", kind: .network) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(listener, 64) == 0 else {
            let reason = posixReason(errno)
            close(listener)
            throw FactoryError("cannot listen on 127.0.0.1: \(reason)", kind: .network)
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
        }
        self.listener = listener
        port = Int(UInt16(bigEndian: address.sin_port))
        // A client that hangs up mid-body must not kill the job with SIGPIPE.
        signal(SIGPIPE, SIG_IGN)
        let fd = listener
        // Serial queues, one to accept and one per connection: each gets its own thread, so
        // a slow remote on one connection never holds up libostree's others.
        DispatchQueue(label: "deltagen.proxy.accept").async { [self] in
            while true {
                let client = accept(fd, nil, nil)
                if client < 0 {
                    if errno == EINTR { continue }
                    return
                }
                DispatchQueue(label: "deltagen.proxy.connection").async { self.serve(client) }
            }
        }
    }

    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    /// Replaces the proxy's address in a libostree message with the remote's.
    func unproxied(_ message: String) -> String {
        message.replacingOccurrences(of: localURL, with: remote)
    }

    private func serve(_ client: Int32) {
        let handle = FileHandle(fileDescriptor: client, closeOnDealloc: true)
        defer { try? handle.close() }
        guard let (method, path) = readRequest(client) else { return respond(handle, 400, "Bad Request") }
        let prefix = "/" + secret
        guard method == "GET" || method == "HEAD" else { return respond(handle, 405, "Method Not Allowed") }
        guard path == prefix || path.hasPrefix(prefix + "/") else { return respond(handle, 404, "Not Found") }
        let target = remote + path.dropFirst(prefix.count)
        let headWritten = Monitor(false)
        let delegate = DownloadDelegate(
            handle: method == "GET" ? handle : nil, limit: fetcher.maxDownloadSize ?? TarballFetcher.unknownSizeLimit,
            onResponse: { response in
                var head = "HTTP/1.0 200 OK\r\nConnection: close\r\n"
                if response.expectedContentLength >= 0 { head += "Content-Length: \(response.expectedContentLength)\r\n" }
                head += "\r\n"
                try handle.write(contentsOf: Data(head.utf8))
                headWritten.withLock { $0 = true }
            })
        do {
            let response = try fetcher.follow(target, method: method, delegate: delegate)
            if !headWritten.withLock({ $0 }) {
                let length = method == "HEAD" && response.statusCode == 200 ? max(0, response.expectedContentLength) : 0
                respond(handle, response.statusCode, HTTPURLResponse.localizedString(forStatusCode: response.statusCode),
                        contentLength: length)
            }
        } catch {
            fetcher.log("pulling \(target): \(error)")
            // After a partial body, closing early is the signal: Content-Length was promised.
            if !headWritten.withLock({ $0 }) { respond(handle, 502, "Bad Gateway") }
        }
    }

    private func respond(_ handle: FileHandle, _ status: Int, _ reason: String, contentLength: Int64 = 0) {
        let head = "HTTP/1.0 \(status) \(reason)\r\nContent-Length: \(contentLength)\r\nConnection: close\r\n\r\n"
        try? handle.write(contentsOf: Data(head.utf8))
    }

    /// The request line of a request whose head arrives within 64 kB; headers are ignored.
    private func readRequest(_ fd: Int32) -> (String, String)? {
        var data = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 4096)
        let end: [UInt8] = Array("\r\n\r\n".utf8)
        while data.count < 65_536 {
            let n = read(fd, &buffer, buffer.count)
            if n <= 0 { return nil }
            data += buffer[0..<n]
            if data.count >= 4, data.indices.dropLast(3).contains(where: { Array(data[$0..<$0 + 4]) == end }) { break }
        }
        guard let line = String(decoding: data, as: UTF8.self).split(separator: "\r\n").first else { return nil }
        let parts = line.split(separator: " ")
        guard parts.count == 3, parts[1].hasPrefix("/") else { return nil }
        return (String(parts[0]), String(parts[1]))
    }
}
