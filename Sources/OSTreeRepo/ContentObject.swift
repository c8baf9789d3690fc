import CGLib
import DeltaFormat

/// What a content object's header records (the `(uuuusa(ayay))` ostree checksums with the bytes).
public struct ContentHeader: Equatable, Sendable {
    public var uid: UInt32
    public var gid: UInt32
    /// File type and permission bits.
    public var mode: UInt32
    /// Content length: the file size, or for a symlink the target's length.
    public var size: UInt64
    public var symlinkTarget: String?
    /// The serialized `a(ayay)` xattr set, as stored.
    public var xattrs: [UInt8]

    public init(uid: UInt32, gid: UInt32, mode: UInt32, size: UInt64, symlinkTarget: String?, xattrs: [UInt8]) {
        self.uid = uid
        self.gid = gid
        self.mode = mode
        self.size = size
        self.symlinkTarget = symlinkTarget
        self.xattrs = xattrs
    }

    public var fileMode: FileMode { FileMode(uid: uid, gid: gid, mode: mode) }
    public var isSymlink: Bool { symlinkTarget != nil }
}

/// A content object opened for reading: its header plus, for regular files, a byte stream.
public struct ContentObject {
    public var checksum: Checksum
    public var header: ContentHeader
    public var stream: ContentStream?

    /// The object's content bytes: the file data, or a symlink's target.
    /// Fails if the stream holds more or fewer bytes than the header says.
    public func readAll() throws -> [UInt8] {
        if let target = header.symlinkTarget { return Array(target.utf8) }
        guard let stream else { return [] }
        let bytes = try stream.read(upTo: Int(header.size) + 1)
        guard bytes.count == Int(header.size) else {
            throw RepositoryError(.corruptObject, "its header says \(header.size) bytes, its stream has \(bytes.count)")
        }
        return bytes
    }
}

/// A GInputStream of object content, closed and released once.
public final class ContentStream {
    private let reference: GObjectReference
    private var stream: UnsafeMutablePointer<GInputStream> { reference.cast(to: GInputStream.self) }

    init(adopting stream: UnsafeMutablePointer<GInputStream>) {
        reference = GObjectReference(adopting: UnsafeMutableRawPointer(stream))
    }

    /// Reads into `buffer`, returning the number of bytes read; 0 at the end.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        var error: UnsafeMutablePointer<GError>? = nil
        let n = g_input_stream_read(stream, buffer.baseAddress, gsize(buffer.count), nil, &error)
        if n < 0 { throw RepositoryError.consume(error) }
        return n
    }

    /// Hands the rest of the stream to `body` in pieces of at most `pieceSize` bytes.
    public func forEachPiece(pieceSize: Int = 1 << 20, _ body: (UnsafeBufferPointer<UInt8>) throws -> Void) throws {
        var chunk = [UInt8](repeating: 0, count: pieceSize)
        while true {
            let n = try chunk.withUnsafeMutableBytes { try read(into: $0) }
            if n == 0 { return }
            try chunk.withUnsafeBufferPointer { try body(UnsafeBufferPointer(rebasing: $0[0..<n])) }
        }
    }

    /// Reads until the end of the stream or until `limit` bytes have been read.
    public func read(upTo limit: Int) throws -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(min(limit, 1 << 20))
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while out.count < limit {
            let want = min(chunk.count, limit - out.count)
            let n = try chunk.withUnsafeMutableBytes { try read(into: UnsafeMutableRawBufferPointer(rebasing: $0[0..<want])) }
            if n == 0 { break }
            out.append(contentsOf: chunk[0..<n])
        }
        return out
    }
}
