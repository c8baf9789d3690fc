import DeltaFormat
import Dispatch
import Foundation

/// Compresses parts while they are being filled, so that compression runs alongside encoding
/// instead of after it, and no part's payload is ever held whole.
///
/// At most `jobs` parts are open or still compressing, which bounds memory to `jobs` xz
/// encoders. Results are stored by part index, so scheduling never changes the output.
final class PartCompressor: Sendable {
    struct Result: Sendable {
        var header: PartHeader
        /// The part file's bytes, kept only for inline deltas.
        var inlineBytes: [UInt8]?
    }

    private struct Progress {
        var results: [Int: Result] = [:]
        var firstError: Error?
        var busySlots = 0  // parts open or finishing, against `jobs`
        var done = 0
    }

    private let jobs: Int
    private let totalParts: Int
    private let group = DispatchGroup()
    private let state = Monitor(Progress())
    fileprivate let settings: XZ.Settings
    fileprivate let slots: CoreSlots
    fileprivate let doorbell: Doorbell
    private let keepInline: Bool
    private let directory: String
    private let progress: ProgressHandler
    private let onWritten: (@Sendable (Int, WrittenPart, PartHeader) -> Void)?

    /// Where a finished part's bytes are: its file, or, for inline deltas, in memory.
    enum WrittenPart: Sendable {
        case file(String)
        case bytes([UInt8])
    }

    /// `onWritten(index, part, header)` runs on the part's queue after its file is written;
    /// `finish` waits for it. `doorbell` rings when a part's slot frees or a stream has room.
    init(jobs: Int, slots: CoreSlots, doorbell: Doorbell, totalParts: Int, settings: XZ.Settings, inline: Bool,
         directory: String, progress: @escaping ProgressHandler,
         onWritten: (@Sendable (Int, WrittenPart, PartHeader) -> Void)? = nil) {
        self.onWritten = onWritten
        self.slots = slots
        self.doorbell = doorbell
        self.jobs = max(1, jobs)
        self.totalParts = totalParts
        self.settings = settings
        keepInline = inline
        self.directory = directory
        self.progress = progress
    }

    /// Starts part `index`, whose payload begins with `head` (its mode and xattr tables) and
    /// comes to about `expectedSize` bytes, or returns nil when `jobs` parts are already open
    /// or compressing.
    func tryOpen(index: Int, head: [UInt8], expectedSize: Int) -> PartStream? {
        let opened = state.withLock { state in
            guard state.busySlots < jobs else { return false }
            state.busySlots += 1
            return true
        }
        guard opened else { return nil }
        slots.expect(part: index, bytes: expectedSize)
        let output = keepInline ? PartOutput() : PartOutput(path: "\(directory)/\(index)")
        return PartStream(index: index, head: head, output: output, owner: self)
    }

    fileprivate func complete(_ index: Int, encoder: XZ.StreamEncoder?, output: PartOutput,
                              objects: [ObjectName], error: Error?) {
        var written: (part: WrittenPart, header: PartHeader)?
        do {
            if let error { throw error }
            guard let encoder else { throw DeltaFormatError.compression("no xz encoder") }
            let payloadSize = encoder.inputSize
            _ = try slots.runCompression(part: index) { try encoder.finish() }
            let file = try output.finish()
            let header = PartHeader(checksum: file.checksum, size: file.size,
                                    uncompressedSize: UInt64(payloadSize), objects: objects)
            let count = state.withLock {
                $0.results[index] = Result(header: header, inlineBytes: file.bytes)
                $0.done += 1
                return $0.done
            }
            progress(.partCompressed(index: index, done: count, total: totalParts))
            written = (file.bytes.map { .bytes($0) } ?? .file(output.path!), header)
        } catch {
            state.withLock { if $0.firstError == nil { $0.firstError = error } }
        }
        // The slot is free once the encoder is gone; what `onWritten` does runs beside the
        // next part.
        slots.finished(part: index)
        state.withLock { $0.busySlots -= 1 }
        doorbell.ring()
        if let written { onWritten?(index, written.part, written.header) }
        group.leave()
    }

    fileprivate func willComplete() { group.enter() }

    /// Waits for the parts that were closed, after an error elsewhere.
    func drain() {
        group.wait()
    }

    /// Waits for every part; returns them in index order or throws the first failure.
    func finish(count: Int) throws -> [Result] {
        group.wait()
        return try state.withLock { state in
            if let error = state.firstError { throw error }
            return (0..<count).map { state.results[$0]! }
        }
    }
}

/// One part being compressed on its own serial queue as its bytes arrive.
///
/// The producer hands segments over through `inbox`; the queue's blocks take them in order.
/// The encoder and its output live in `work`, which only blocks on the queue touch, one at
/// a time, so its lock is never contended.
final class PartStream: Sendable {
    let index: Int
    private let queue: DispatchQueue
    // Held strongly: after an error the generator can be gone while bytes appended to a part
    // that was never closed are still queued here.
    private let owner: PartCompressor

    private struct Inbox {
        var batches: [[BlobSegment]] = []
        /// Bytes handed over but not yet compressed.
        var backlogBytes = 0
    }

    private struct Work {
        var encoder: XZ.StreamEncoder?
        let output: PartOutput
        var failure: Error?
    }

    private let inbox = Monitor(Inbox())
    private let work: Monitor<Work>
    private static let backlogLimit = 8 << 20

    /// Whether the stream takes more bytes now. Its producer feeds other parts meanwhile
    /// instead of waiting, since another part's compressor may be the one waiting for it;
    /// so a stream holds at most the limit plus one object.
    var hasRoom: Bool { inbox.withLock { $0.backlogBytes < PartStream.backlogLimit } }

    fileprivate init(index: Int, head: [UInt8], output: PartOutput, owner: PartCompressor) {
        self.index = index
        self.owner = owner
        work = Monitor(Work(encoder: nil, output: output, failure: nil))
        queue = DispatchQueue(label: "deltagen.part.\(index)")
        let settings = owner.settings
        queue.async { [self] in
            work.withLock { work in
                do {
                    let output = work.output
                    try output.write([PartCompression.xz.rawValue])
                    work.encoder = try XZ.StreamEncoder(settings: settings) { try output.write($0) }
                    try compress(head, with: work.encoder!)
                } catch {
                    work.failure = error
                }
            }
        }
    }

    /// Bytes compressed in one go, between which a more urgent part may take the core.
    private static let sliceSize = 1 << 20

    /// Compresses `bytes` slice by slice, each in a slot of `slots`. On `queue`.
    private func compress(_ bytes: [UInt8], with encoder: XZ.StreamEncoder) throws {
        let slots = owner.slots
        var start = 0
        while start < bytes.count {
            let end = min(bytes.count, start + PartStream.sliceSize)
            try slots.runCompression(part: index) {
                let began = DispatchTime.now().uptimeNanoseconds
                try encoder.append(start == 0 && end == bytes.count ? bytes : Array(bytes[start..<end]))
                let seconds = Double(DispatchTime.now().uptimeNanoseconds - began) / 1e9
                slots.compressed(part: index, bytes: end - start, seconds: seconds)
            }
            start = end
        }
    }

    /// Queues payload bytes for compression; see `hasRoom`. Streamed segments are read
    /// here, on the part's queue, a piece at a time, and count for nothing in the backlog.
    func append(_ segments: [BlobSegment]) {
        let size = segments.reduce(0) { total, segment in
            if case .bytes(let b) = segment { return total + b.count }
            return total
        }
        guard !segments.isEmpty else { return }
        inbox.withLock {
            $0.batches.append(segments)
            $0.backlogBytes += size
        }
        queue.async { [self] in
            let segments = inbox.withLock { $0.batches.removeFirst() }
            work.withLock { work in
                guard work.failure == nil, let encoder = work.encoder else { return }
                do {
                    try compress(segments, with: encoder)
                } catch {
                    work.failure = error
                }
            }
            let drained = inbox.withLock { inbox in
                inbox.backlogBytes -= size
                return inbox.backlogBytes < PartStream.backlogLimit && inbox.backlogBytes + size >= PartStream.backlogLimit
            }
            // The packer may be waiting for this stream to take more.
            if drained { owner.doorbell.ring() }
        }
    }

    private func compress(_ segments: [BlobSegment], with encoder: XZ.StreamEncoder) throws {
        for segment in segments {
            switch segment {
            case .bytes(let bytes): try compress(bytes, with: encoder)
            case .stream(let stream):
                var read = 0
                try stream.read { piece in
                    read += piece.count
                    guard read <= stream.size else { throw DeltaFormatError.malformed("a streamed object grew while it was read") }
                    try compress(piece, with: encoder)
                }
                guard read == stream.size else { throw DeltaFormatError.malformed("a streamed object shrank while it was read") }
            }
        }
    }

    /// Appends the end of the payload and finishes the part in the background.
    func close(tail: [[UInt8]], objects: [ObjectName]) {
        append(tail.map { .bytes($0) })
        owner.willComplete()
        queue.async { [self] in
            let (encoder, output, failure) = work.withLock { work in
                defer { work.encoder = nil }
                return (work.encoder, work.output, work.failure)
            }
            owner.complete(index, encoder: encoder, output: output, objects: objects, error: failure)
        }
    }
}

/// Where a part's compressed bytes go as they are produced: its file in the staging
/// directory, hashed on the way, or memory for an inline part.
final class PartOutput {
    let path: String?
    private var fd: Int32 = -1
    private var bytes: [UInt8] = []
    private let hasher = SHA256Hasher()
    private var size: UInt64 = 0

    /// An inline part, kept in memory.
    init() { path = nil }

    /// A part file at `path`, which must not exist; created on the first write.
    init(path: String) { self.path = path }

    deinit { if fd >= 0 { close(fd) } }

    func write(_ piece: UnsafeBufferPointer<UInt8>) throws {
        guard piece.count > 0 else { return }
        hasher.update(UnsafeRawBufferPointer(piece))
        size += UInt64(piece.count)
        guard let path else {
            bytes.append(contentsOf: piece)
            return
        }
        if fd < 0 {
            fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw SystemError("open", path) }
        }
        try FileOps.writeAll(fd, UnsafeRawBufferPointer(piece), path: path)
    }

    func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBufferPointer { try write($0) }
    }

    /// Flushes the file to disk; returns the part's checksum, size and, if inline, bytes.
    func finish() throws -> (checksum: Checksum, size: UInt64, bytes: [UInt8]?) {
        if let path {
            guard fsync(fd) == 0 else { throw SystemError("fsync", path) }
            _ = fchmod(fd, 0o644)  // O_CREAT's mode is masked by the umask; parts are always 0644
            close(fd)
            fd = -1
        }
        return (hasher.finish(), size, path == nil ? bytes : nil)
    }
}
