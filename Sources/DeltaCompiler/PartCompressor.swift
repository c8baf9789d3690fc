import DeltaFormat
import Dispatch
import Foundation

/// Compresses parts while they are being filled, so that compression runs alongside encoding
/// instead of after it, and no part's payload is ever held whole.
///
/// At most `jobs` parts are open or still compressing, which bounds memory to `jobs` xz
/// encoders. Results are stored by part index, so scheduling never changes the output.
final class PartCompressor {
    struct Result {
        var header: PartHeader
        /// The part file's bytes, kept only for inline deltas.
        var inlineBytes: [UInt8]?
    }

    private let jobs: Int
    private let totalParts: Int
    private let group = DispatchGroup()
    private let lock = NSLock()
    private var results: [Int: Result] = [:]
    private var firstError: Error?
    private var busySlots = 0  // parts open or finishing, against `jobs`
    private var done = 0
    private let settings: XZ.Settings
    private let keepInline: Bool
    private let directory: String
    private let progress: ProgressHandler
    private let onWritten: ((Int, [UInt8], PartHeader) -> Void)?

    /// `onWritten(index, file, header)` runs on the part's queue after its file is written;
    /// `finish` waits for it.
    init(jobs: Int, totalParts: Int, settings: XZ.Settings, inline: Bool, directory: String,
         progress: @escaping ProgressHandler, onWritten: ((Int, [UInt8], PartHeader) -> Void)? = nil) {
        self.onWritten = onWritten
        self.jobs = max(1, jobs)
        self.totalParts = totalParts
        self.settings = settings
        keepInline = inline
        self.directory = directory
        self.progress = progress
    }

    /// Starts part `index`, whose payload begins with `head` (its mode and xattr tables), or
    /// returns nil when `jobs` parts are already open or compressing.
    func tryOpen(index: Int, head: [UInt8]) -> PartStream? {
        lock.lock()
        defer { lock.unlock() }
        guard busySlots < jobs else { return nil }
        busySlots += 1
        return PartStream(index: index, head: head, settings: settings, owner: self)
    }

    fileprivate func complete(_ stream: PartStream, encoder: XZ.StreamEncoder?, objects: [ObjectName], error: Error?) {
        var written: (file: [UInt8], header: PartHeader)?
        do {
            if let error { throw error }
            guard let encoder else { throw DeltaFormatError.compression("no xz encoder") }
            let payloadSize = encoder.inputSize
            let file = [PartCompression.xz.rawValue] + (try encoder.finish())
            let header = PartHeader(checksum: SHA256Hasher.digest(file), size: UInt64(file.count),
                                    uncompressedSize: UInt64(payloadSize), objects: objects)
            if !keepInline { try FileOps.writeNewFile("\(directory)/\(stream.index)", file) }
            let count = lock.withLock {
                results[stream.index] = Result(header: header, inlineBytes: keepInline ? file : nil)
                done += 1
                return done
            }
            progress(.partCompressed(index: stream.index, done: count, total: totalParts))
            written = (file, header)
        } catch {
            lock.withLock { if firstError == nil { firstError = error } }
        }
        // The slot is free once the encoder is gone; what `onWritten` does runs beside the
        // next part.
        lock.withLock { busySlots -= 1 }
        if let written { onWritten?(stream.index, written.file, written.header) }
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
        if let firstError { throw firstError }
        return (0..<count).map { results[$0]! }
    }
}

/// One part being compressed on its own serial queue as its bytes arrive.
final class PartStream {
    let index: Int
    private let queue: DispatchQueue
    private unowned let owner: PartCompressor
    // Touched only on `queue`.
    private var encoder: XZ.StreamEncoder?
    private var failure: Error?
    // Bytes handed over but not yet compressed; `append` waits while there are too many.
    private let backlog = NSCondition()
    private var backlogBytes = 0
    private static let backlogLimit = 32 << 20

    fileprivate init(index: Int, head: [UInt8], settings: XZ.Settings, owner: PartCompressor) {
        self.index = index
        self.owner = owner
        queue = DispatchQueue(label: "deltagen.part.\(index)")
        queue.async { [self] in
            do {
                encoder = try XZ.StreamEncoder(settings: settings)
                try encoder!.append(head)
            } catch {
                failure = error
            }
        }
    }

    /// Queues payload bytes; blocks while more than a few MB are still waiting, so a producer
    /// faster than xz slows down instead of piling up memory.
    func append(_ segments: [[UInt8]]) {
        let size = segments.reduce(0) { $0 + $1.count }
        guard size > 0 else { return }
        backlog.lock()
        while backlogBytes > 0 && backlogBytes + size > PartStream.backlogLimit { backlog.wait() }
        backlogBytes += size
        backlog.unlock()
        queue.async { [self] in
            if failure == nil {
                do {
                    for segment in segments { try encoder?.append(segment) }
                } catch {
                    failure = error
                }
            }
            backlog.lock()
            backlogBytes -= size
            backlog.broadcast()
            backlog.unlock()
        }
    }

    /// Appends the end of the payload and finishes the part in the background.
    func close(tail: [[UInt8]], objects: [ObjectName]) {
        append(tail)
        owner.willComplete()
        queue.async { [self] in
            owner.complete(self, encoder: encoder, objects: objects, error: failure)
            encoder = nil
        }
    }
}
