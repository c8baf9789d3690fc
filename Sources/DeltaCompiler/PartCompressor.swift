import DeltaFormat
import Dispatch
import Foundation

/// Compresses finished parts on up to `jobs` threads while the packer fills the next one.
///
/// `submit` blocks while `jobs` parts are already in flight, which bounds memory to about
/// `jobs` payloads. Results are stored by part index, so scheduling never changes the output.
final class PartCompressor {
    struct Result {
        var header: PartHeader
        /// The part file's bytes, kept only for inline deltas.
        var inlineBytes: [UInt8]?
    }

    private let work: BoundedWork
    private let lock = NSLock()
    private var results: [Int: Result] = [:]
    private var firstError: Error?
    private let preset: UInt32
    private let keepInline: Bool
    private let directory: String

    private let progress: ProgressHandler
    private var submitted = 0

    init(jobs: Int, preset: UInt32, inline: Bool, directory: String, progress: @escaping ProgressHandler) {
        self.progress = progress
        work = BoundedWork(label: "deltagen.compress", limit: jobs)
        self.preset = preset
        keepInline = inline
        self.directory = directory
    }

    func submit(index: Int, payload: PartPayload, objects: [ObjectName]) {
        lock.withLock { submitted = index + 1 }
        work.submit { [self] in
            do {
                let (file, payloadSize) = try PartFile.encode(payload: payload, preset: preset)
                let header = PartHeader(checksum: SHA256Hasher.digest(file), size: UInt64(file.count),
                                        uncompressedSize: UInt64(payloadSize), objects: objects)
                if !keepInline { try FileOps.writeNewFile("\(directory)/\(index)", file) }
                let closed = lock.withLock {
                    results[index] = Result(header: header, inlineBytes: keepInline ? file : nil)
                    return submitted
                }
                progress(.partCompressed(index: index, closed: closed))
            } catch {
                lock.withLock { if firstError == nil { firstError = error } }
            }
        }
    }

    /// Waits for the parts in flight, after an error elsewhere.
    func drain() {
        work.wait()
    }

    /// Waits for every part; returns them in index order or throws the first failure.
    func finish(count: Int) throws -> [Result] {
        work.wait()
        if let firstError { throw firstError }
        return (0..<count).map { results[$0]! }
    }
}
