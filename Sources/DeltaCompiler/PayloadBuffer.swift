import DeltaFormat
import Glibc
import OSTreeRepo

/// A decoded part payload: in memory while small, in an unlinked temporary file beyond
/// `memoryLimit`, so that reading a delta never holds more than that of any one payload.
/// Runs of zeros are left as holes, so a bomb of zeros costs neither memory nor disk.
final class PayloadBuffer: RandomAccessBytes {
    /// Typical parts (32 MB of payload) stay in memory; bigger ones go to a file.
    static let defaultMemoryLimit = 48 << 20

    private let memoryLimit: Int
    private let directory: String
    private var memory: [UInt8] = []
    private var fd: Int32 = -1
    private(set) var count = 0

    init(memoryLimit: Int = PayloadBuffer.defaultMemoryLimit, spillDirectory: String) {
        self.memoryLimit = memoryLimit
        directory = spillDirectory
    }

    deinit { if fd >= 0 { close(fd) } }

    func append(_ piece: UnsafeBufferPointer<UInt8>) throws {
        if fd < 0 && count + piece.count <= memoryLimit {
            memory.append(contentsOf: piece)
            count += piece.count
            return
        }
        if fd < 0 { try spill() }
        if !PayloadBuffer.isZero(piece) { try writeAll(UnsafeRawBufferPointer(piece), at: count) }
        count += piece.count
    }

    /// Ends the payload: a file-backed one gets its full length even if it ends in a hole.
    func finish() throws {
        if fd >= 0 && ftruncate(fd, off_t(count)) != 0 { throw SystemError("ftruncate", directory) }
    }

    func read(_ range: Range<Int>) throws -> [UInt8] {
        precondition(range.lowerBound >= 0 && range.upperBound <= count)
        if fd < 0 { return Array(memory[range]) }
        var out = [UInt8](repeating: 0, count: range.count)
        var done = 0
        try out.withUnsafeMutableBytes { raw in
            while done < raw.count {
                let n = pread(fd, raw.baseAddress! + done, raw.count - done, off_t(range.lowerBound + done))
                if n < 0 && errno == EINTR { continue }
                if n < 0 { throw SystemError("reading a spilled payload in", directory) }
                if n == 0 { break }  // a hole at the end reads as the zeros already there
                done += n
            }
        }
        return out
    }

    private static let zeros = [UInt8](repeating: 0, count: 1 << 16)

    /// Whether `piece` is all zeros, by memcmp against a zero page (a byte loop is slow in
    /// debug builds, and a bomb is gigabytes of zeros).
    private static func isZero(_ piece: UnsafeBufferPointer<UInt8>) -> Bool {
        var start = 0
        return zeros.withUnsafeBytes { zero in
            while start < piece.count {
                let n = min(zero.count, piece.count - start)
                if memcmp(piece.baseAddress! + start, zero.baseAddress!, n) != 0 { return false }
                start += n
            }
            return true
        }
    }

    private func spill() throws {
        // Unlinked at once: the file goes with the descriptor, whatever ends the process.
        var template = Array("\(directory)/deltagen-payload-XXXXXX".utf8CString)
        fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw SystemError("creating a temporary payload file in", directory) }
        template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        try memory.withUnsafeBytes { try writeAll($0, at: 0) }
        memory = []
    }

    private func writeAll(_ bytes: UnsafeRawBufferPointer, at offset: Int) throws {
        var done = 0
        while done < bytes.count {
            let n = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset + done))
            if n < 0 && errno == EINTR { continue }
            if n < 0 { throw SystemError("writing a spilled payload in", directory) }
            done += n
        }
    }
}

/// Decoding part files into payloads, reading them in pieces.
enum PartReading {
    /// Where big payloads spill: the system's temporary directory.
    static var spillDirectory: String {
        guard let value = getenv("TMPDIR"), value.pointee != 0 else { return "/tmp" }
        return String(cString: value)
    }

    /// Decodes an in-memory part file (already checked against its header's checksum).
    static func payload(ofFile file: [UInt8], header: PartHeader) throws -> PayloadBuffer {
        let decoder = PartFile.Decoder(maxPayload: DeltaReader.payloadLimit(for: header))
        let buffer = PayloadBuffer(spillDirectory: spillDirectory)
        var start = 0
        repeat {
            let end = min(file.count, start + (1 << 20))
            try decoder.feed(Array(file[start..<end])) { try buffer.append($0) }
            start = end
        } while start < file.count
        try decoder.finish { try buffer.append($0) }
        try buffer.finish()
        return buffer
    }

    /// Reads, checks and decodes part file `path` in one pass: its size and checksum must be
    /// the header's, and the file is never held whole. A file that does not match its
    /// header throws; a payload that does not decode is the returned failure. A part the
    /// generator has just written, whose header it hashed from these bytes, is not hashed
    /// again (`checksum: false`); the final verify still checks the file.
    static func payload(ofPartAt path: String, header: PartHeader, checksum: Bool = true) throws -> Result<PayloadBuffer, Error> {
        let decoder = PartFile.Decoder(maxPayload: DeltaReader.payloadLimit(for: header))
        let buffer = PayloadBuffer(spillDirectory: spillDirectory)
        let hasher = checksum ? SHA256Hasher() : nil
        var decodeError: Error?
        let size = try FileOps.forEachChunk(of: path, limit: header.size) { piece in
            hasher?.update(piece)
            guard decodeError == nil else { return }
            do { try decoder.feed(piece) { try buffer.append($0) } } catch { decodeError = error }
        }
        guard size == header.size else {
            throw PartFileMismatch(description: "file is \(size) bytes, superblock says \(header.size)")
        }
        if let actual = hasher?.finish(), actual != header.checksum {
            throw PartFileMismatch(description: "checksum mismatch: expected \(header.checksum.hex), actual \(actual.hex)")
        }
        return Result {
            if let decodeError { throw decodeError }
            try decoder.finish { try buffer.append($0) }
            try buffer.finish()
            return buffer
        }
    }

    /// A read source's content: a regular file of FROM, read through its stream into a
    /// buffer that spills to disk when big.
    static func content(of checksum: Checksum, in repo: Repository) throws -> RandomAccessBytes {
        let object = try repo.loadContent(checksum)
        guard object.header.symlinkTarget == nil, let stream = object.stream else { return try object.readAll() }
        let buffer = PayloadBuffer(spillDirectory: spillDirectory)
        try stream.forEachPiece { try buffer.append($0) }
        guard UInt64(buffer.count) == object.header.size else {
            throw DeltaFormatError.malformed("source \(checksum.hex).file: its header says \(object.header.size) bytes, its stream has \(buffer.count)")
        }
        try buffer.finish()
        return buffer
    }
}

/// A part file whose size or checksum is not the superblock's.
struct PartFileMismatch: Error, CustomStringConvertible {
    var description: String
}
