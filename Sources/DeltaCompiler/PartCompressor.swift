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
    fileprivate let slots: CoreSlots
    private let keepInline: Bool
    private let directory: String
    private let progress: ProgressHandler
    private let onWritten: ((Int, [UInt8], PartHeader) -> Void)?

    /// `onWritten(index, file, header)` runs on the part's queue after its file is written;
    /// `finish` waits for it.
    init(jobs: Int, slots: CoreSlots, totalParts: Int, settings: XZ.Settings, inline: Bool, directory: String,
         progress: @escaping ProgressHandler, onWritten: ((Int, [UInt8], PartHeader) -> Void)? = nil) {
        self.onWritten = onWritten
        self.slots = slots
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
        lock.lock()
        defer { lock.unlock() }
        guard busySlots < jobs else { return nil }
        busySlots += 1
        slots.expect(part: index, bytes: expectedSize)
        return PartStream(index: index, head: head, settings: settings, owner: self)
    }

    fileprivate func complete(_ stream: PartStream, encoder: XZ.StreamEncoder?, objects: [ObjectName], error: Error?) {
        var written: (file: [UInt8], header: PartHeader)?
        do {
            if let error { throw error }
            guard let encoder else { throw DeltaFormatError.compression("no xz encoder") }
            let payloadSize = encoder.inputSize
            let file = [PartCompression.xz.rawValue] + (try slots.runCompression(part: stream.index) { try encoder.finish() })
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
        slots.finished(part: stream.index)
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
    // Held strongly: after an error the compressor can be gone while bytes appended to a part
    // that was never closed are still queued here.
    private let slots: CoreSlots
    // Touched only on `queue`.
    private var encoder: XZ.StreamEncoder?
    private var failure: Error?
    // Bytes handed over but not yet compressed.
    private let backlog = NSLock()
    private var backlogBytes = 0
    private static let backlogLimit = 8 << 20

    /// Whether the stream takes more bytes now. Its producer feeds other parts meanwhile
    /// instead of waiting, since another part's compressor may be the one waiting for it;
    /// so a stream holds at most the limit plus one object.
    var hasRoom: Bool { backlog.withLock { backlogBytes < PartStream.backlogLimit } }

    fileprivate init(index: Int, head: [UInt8], settings: XZ.Settings, owner: PartCompressor) {
        self.index = index
        self.owner = owner
        slots = owner.slots
        queue = DispatchQueue(label: "deltagen.part.\(index)")
        queue.async { [self] in
            do {
                encoder = try XZ.StreamEncoder(settings: settings)
                try compress(head)
            } catch {
                failure = error
            }
        }
    }

    /// Bytes compressed in one go, between which a more urgent part may take the core.
    private static let sliceSize = 1 << 20

    /// Compresses `bytes` slice by slice, each in a slot of `slots`. On `queue`.
    private func compress(_ bytes: [UInt8]) throws {
        guard let encoder else { return }
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

    /// Queues payload bytes for compression; see `hasRoom`.
    func append(_ segments: [[UInt8]]) {
        let size = segments.reduce(0) { $0 + $1.count }
        guard size > 0 else { return }
        backlog.withLock { backlogBytes += size }
        queue.async { [self] in
            if failure == nil {
                do {
                    for segment in segments { try compress(segment) }
                } catch {
                    failure = error
                }
            }
            backlog.withLock { backlogBytes -= size }
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
