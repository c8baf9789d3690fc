import DeltaFormat
import Foundation

/// Which objects each part holds, fixed before any object is encoded.
///
/// Parts are cut on the sizes the headers give (a file's length, a metadata object's bytes),
/// not on encoded sizes. Every part's members are then known up front, so all open parts
/// are packed and compressed at once, each as soon as its own objects are encoded. Encoded
/// sizes differ a little from these (a bsdiff patch is the new file plus 24 bytes per
/// control; a fallback ships nothing), so `--max-chunk-size` stays a target, as in ostree,
/// whose parts also pass it by up to one object.
struct PartLayout: Equatable {
    struct Part: Equatable {
        var metadata: Range<Int>
        var content: Range<Int>
    }
    var parts: [Part]
    /// Each part's expected payload bytes, from the same sizes.
    var sizes: [Int]

    /// Blob and op bytes a planned object is expected to add.
    static func expectedSize(_ item: PlannedContent) -> Int {
        Int(clamping: item.header.size) + (item.predecessor == nil ? 16 : 64)
    }

    /// Cuts content (sizes `contentSizes`) then metadata (`metadataSizes`) into parts: a part
    /// is closed before an object that would take it past `maxChunkSize`, unless it is empty.
    ///
    /// Metadata goes last for the sake of libostree 2022.2–2023.6 clients. During a delta pull
    /// they scan the new commit's tree as soon as its detached metadata request returns, and
    /// fetch loose every file not yet stored under each dirtree the scan finds stored. With
    /// dirtrees in the first part, the scan finds them while that part is being applied and
    /// queues nearly every file; with dirtrees in the last part, it must fetch them loose,
    /// behind the part downloads, while the content parts are applied. On the Debian corpus
    /// this cut the median bytes a 2022.7 client was served from 27.6 to 10.8 MiB
    /// (`docs/clients.md`, `docs/encoding.md`).
    init(metadataSizes: [Int], contentSizes: [Int], tableSize: Int, maxChunkSize: Int) {
        parts = []
        sizes = []
        var current = Part(metadata: 0..<0, content: 0..<0)
        var size = tableSize
        var metadataDone = 0, contentDone = 0
        let meta = metadataSizes.map { (true, $0 + 8) }, content = contentSizes.map { (false, $0) }
        for (isMetadata, objectSize) in content + meta {
            let isEmpty = current.metadata.isEmpty && current.content.isEmpty
            if !isEmpty && size + objectSize > maxChunkSize {
                parts.append(current)
                sizes.append(size)
                current = Part(metadata: metadataDone..<metadataDone, content: contentDone..<contentDone)
                size = tableSize
            }
            if isMetadata {
                metadataDone += 1
                current.metadata = current.metadata.lowerBound..<metadataDone
            } else {
                contentDone += 1
                current.content = current.content.lowerBound..<contentDone
            }
            size += objectSize
        }
        parts.append(current)  // there is always at least one part, even an empty one
        sizes.append(size)
    }
}

/// Packs encoded objects into their parts, keeping up to `jobs` parts open and feeding each
/// one's compressor as its next object in plan order is ready.
///
/// Each open part keeps its own window of objects queued for encoding, so all open parts
/// are encoded, and compressed, side by side. A part's compression is the longest serial job
/// of a delta (one 32 MB part of patches and binaries takes 6 s of xz), so it must start
/// early, not after every object of the parts before it is encoded; `CoreSlots` decides
/// which part's work runs first. The window is bounded by content bytes, which bounds
/// memory (old plus new content of the objects in flight), and by a count large enough
/// that a slow file near the end of a part of small files (a 2 MB library after hundreds of
/// small docs) is encoded long before the part's compressor reaches it.
struct PartPacker {
    static let maxObjectsAheadPerPart = 512
    static let maxBytesAheadPerPart: UInt64 = 32_000_000

    struct Packed {
        var partCount = 0
        var objectCount = 0
        var fallbacks: [FallbackEntry] = []
        var rollsumCount = 0
        var bsdiffCount = 0
    }

    let layout: PartLayout
    let metadata: [(ObjectName, [UInt8])]
    let tables: (modes: [FileMode], xattrSets: [[UInt8]])
    let compressor: PartCompressor
    /// Rung by the workers and the compressor; the packer sleeps on it when it is stuck.
    let doorbell: Doorbell
    let report: ProgressHandler

    private final class OpenPart {
        let index: Int
        var builder: PartBuilder
        let stream: PartStream
        var next: Int
        var requested: Int
        var bytesAhead: UInt64 = 0
        let end: Int
        var fallbacks: [FallbackEntry] = []
        init(index: Int, builder: PartBuilder, stream: PartStream, content: Range<Int>) {
            self.index = index
            self.builder = builder
            self.stream = stream
            next = content.lowerBound
            requested = content.lowerBound
            end = content.upperBound
        }

        func requestMore(_ session: EncodingSession) {
            while requested < end && (requested == next ||
                    (requested - next < PartPacker.maxObjectsAheadPerPart &&
                     bytesAhead + session.cost(requested) <= PartPacker.maxBytesAheadPerPart)) {
                bytesAhead += session.cost(requested)
                session.request(requested, part: index)
                requested += 1
            }
        }
    }

    func pack(_ session: EncodingSession, total: Int) throws -> Packed {
        let head = PartPayload.head(modes: tables.modes, xattrSets: tables.xattrSets)
        var packed = Packed()
        var open: [OpenPart] = []
        var nextToOpen = 0
        var closedFallbacks: [Int: [FallbackEntry]] = [:]
        var encoded = 0
        while nextToOpen < layout.parts.count || !open.isEmpty {
            let rung = doorbell.count
            var progressed = false
            while nextToOpen < layout.parts.count,
                  let stream = compressor.tryOpen(index: nextToOpen, head: head,
                                                  expectedSize: layout.sizes[nextToOpen]) {
                let part = OpenPart(index: nextToOpen,
                                    builder: PartBuilder(modes: tables.modes, xattrSets: tables.xattrSets),
                                    stream: stream, content: layout.parts[nextToOpen].content)
                for i in layout.parts[nextToOpen].metadata {
                    part.builder.addMetadata(metadata[i].0, bytes: metadata[i].1)
                }
                stream.append(part.builder.takeBlobSegments())
                part.requestMore(session)
                open.append(part)
                nextToOpen += 1
                progressed = true
            }
            for part in open {
                while part.next < part.end, part.stream.hasRoom, let object = try session.take(part.next) {
                    part.bytesAhead -= session.cost(part.next)
                    part.next += 1
                    part.requestMore(session)
                    encoded += 1
                    progressed = true
                    if encoded % 32 == 0 || encoded == total { report(.encoded(done: encoded, total: total)) }
                    switch object {
                    case .fallback(let entry):
                        part.fallbacks.append(entry)
                        continue
                    case .rollsum, .streamedRollsum: packed.rollsumCount += 1
                    case .bsdiff: packed.bsdiffCount += 1
                    case .literal, .streamedLiteral: break
                    }
                    part.builder.add(object)
                    part.stream.append(part.builder.takeBlobSegments())
                }
            }
            for part in open where part.next == part.end {
                let tail = PartPayload.tail(modeCount: tables.modes.count, headSize: head.count,
                                            blobSize: part.builder.blobSize, ops: part.builder.ops)
                part.stream.close(tail: tail, objects: part.builder.objects)
                packed.objectCount += part.builder.objects.count
                closedFallbacks[part.index] = part.fallbacks
                progressed = true
            }
            open.removeAll { $0.next == $0.end }
            // Nothing to do until a worker delivers, a compressor frees its slot or a stream
            // drains below its backlog limit: each of them rings the bell. One that rang
            // after `rung` was read makes this return at once, so no wakeup is lost.
            if !progressed { doorbell.wait(after: rung) }
        }
        packed.partCount = layout.parts.count
        packed.fallbacks = (0..<layout.parts.count).flatMap { closedFallbacks[$0] ?? [] }
        return packed
    }
}
