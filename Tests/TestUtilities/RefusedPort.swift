import Foundation

/// A port on 127.0.0.1 that refuses connections: bound by the kernel's choice, never
/// listened on, then closed. Tests of network failures point URLs at it.
public func refusedLoopbackPort() -> UInt16 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { p in
            _ = bind(fd, p, length)
            return getsockname(fd, p, &length)
        }
    }
    return UInt16(bigEndian: address.sin_port)
}
