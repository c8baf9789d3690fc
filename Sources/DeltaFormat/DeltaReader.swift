import CGLib

/// What `show` reports about one part.
public struct PartSummary: Codable, Sendable {
    public var index: Int
    public var objects: Int
    public var size: UInt64
    public var uncompressedSize: UInt64
    public var modes: Int
    public var xattrSets: Int
    public var blobSize: Int
    public var opSize: Int
    /// The real decompressed payload length (deltagen writes it as `uncompressedSize`).
    public var payloadSize: Int
    /// Op counts keyed by ostree's names (`openspliceclose`, `open`, …).
    public var opCounts: [String: Int]
}

/// A parsed delta: the superblock plus a summary of every part.
public struct DeltaInspection: Sendable {
    public var decoded: DecodedSuperblock
    public var parts: [PartSummary]

    public var superblock: Superblock { decoded.superblock }
    public var totalPartSize: UInt64 { superblock.parts.reduce(0) { $0 &+ $1.size } }
    public var totalPartUncompressedSize: UInt64 { superblock.parts.reduce(0) { $0 &+ $1.uncompressedSize } }
    public var totalFallbackSize: UInt64 { superblock.fallbacks.reduce(0) { $0 &+ $1.compressedSize } }
    public var totalFallbackUncompressedSize: UInt64 { superblock.fallbacks.reduce(0) { $0 &+ $1.uncompressedSize } }
    /// `ostree static-delta show`'s "Total Size": parts plus fallbacks.
    public var totalSize: UInt64 { totalPartSize &+ totalFallbackSize }
    public var totalUncompressedSize: UInt64 { totalPartUncompressedSize &+ totalFallbackUncompressedSize }
}

/// Reads and checks a delta from untrusted bytes.
public enum DeltaReader {
    /// The largest payload accepted for a part. deltagen declares the exact payload size;
    /// ostree's generator declares the objects' total, which its payload exceeds by the
    /// tables, the ops and, for patches, by more. Current clients set no bound at all
    /// (docs/reliability.md), so this margin exists only to stop a stream that never ends;
    /// readers keep big payloads in a file, so it does not bound memory.
    public static func payloadLimit(for header: PartHeader) -> UInt64 {
        let usize = header.uncompressedSize
        let perObject = UInt64(header.objects.count).multipliedReportingOverflow(by: 256 + 65536)
        let total = [usize / 32, 4096, perObject.overflow ? .max : perObject.partialValue]
            .reduce(usize) { sum, term in sum.addingReportingOverflow(term).overflow ? .max : sum + term }
        return total
    }

    /// Parses `superblockFile` and every part. `payload(i, header, inlineFile)` returns
    /// part `i`'s decoded payload: from `inlineFile` for an inline part (already checked
    /// against the header's checksum), otherwise from the part file, which it must check
    /// against the header's size and checksum itself.
    public static func inspect(superblockFile: [UInt8],
                               payload: (Int, PartHeader, [UInt8]?) throws -> RandomAccessBytes) throws -> DeltaInspection {
        let decoded = try Superblock.decode(file: superblockFile)
        let sb = decoded.superblock
        var parts: [PartSummary] = []
        for (i, header) in sb.parts.enumerated() {
            guard header.version == 0 else { throw DeltaFormatError.malformed("part \(i) has too new version \(header.version)") }
            var inlineFile: [UInt8]?
            if i < sb.inlineParts.count {
                inlineFile = sb.inlineParts[i]
                let actual = SHA256Hasher.digest(sb.inlineParts[i])
                guard actual == header.checksum else {
                    throw DeltaFormatError.malformed("part \(i) checksum mismatch: expected \(header.checksum.hex), actual \(actual.hex)")
                }
            }
            let bytes = try payload(i, header, inlineFile)
            let index = try PartPayloadIndex(bytes)
            let dryRun = try countOps(index, objects: header.objects)
            // deltagen declares the payload length; ostree declares the objects' total, in
            // which a symlink counts its target length (bare repos) or nothing (archive).
            let accepted = [UInt64(bytes.count), dryRun.objectBytes, dryRun.objectBytes - dryRun.symlinkBytes]
            guard accepted.contains(header.uncompressedSize) else {
                throw DeltaFormatError.malformed("part \(i) declares \(header.uncompressedSize) bytes uncompressed; its payload is \(bytes.count) bytes, its objects \(dryRun.objectBytes)")
            }
            parts.append(PartSummary(index: i, objects: header.objects.count, size: header.size,
                                     uncompressedSize: header.uncompressedSize, modes: index.modes.count,
                                     xattrSets: index.xattrSets.count, blobSize: index.blob.count,
                                     opSize: index.ops.count, payloadSize: bytes.count,
                                     opCounts: dryRun.counts))
        }
        return DeltaInspection(decoded: decoded, parts: parts)
    }

    /// Dry-runs a part's ops: counts them, checks table indexes and blob ranges, and adds up
    /// the sizes of the objects they write (symlink targets apart, too).
    static func countOps(_ payload: PartPayloadIndex, objects: [ObjectName]) throws
        -> (counts: [String: Int], objectBytes: UInt64, symlinkBytes: UInt64) {
        var counts = Dictionary(uniqueKeysWithValues: Opcode.showOrder.map { ($0.showName, 0) })
        var objectBytes: UInt64 = 0, symlinkBytes: UInt64 = 0
        func add(_ size: UInt64) throws {
            let (sum, overflow) = objectBytes.addingReportingOverflow(size)
            guard !overflow else { throw DeltaFormatError.malformed("object sizes overflow") }
            objectBytes = sum
        }
        var decoder = InstructionDecoder(ops: payload.ops, objects: objects)
        func checkRange(_ offset: UInt64, _ size: UInt64) throws { _ = try payload.blobRange(offset: offset, size: size) }
        while let instruction = try decoder.next() {
            counts[instruction.opcode.showName, default: 0] += 1
            switch instruction {
            case .spliceMetadata(let size, let offset):
                try checkRange(offset, size)
                try add(size)
            case .spliceContent(let m, let x, let size, let offset):
                guard m < payload.modes.count, x < payload.xattrSets.count else {
                    throw DeltaFormatError.malformed("mode or xattr index out of range")
                }
                try checkRange(offset, size)
                try add(size)
                if payload.modes[Int(m)].isSymlink { symlinkBytes += size }
            case .open(let m, let x, let size):
                guard m < payload.modes.count, x < payload.xattrSets.count else {
                    throw DeltaFormatError.malformed("mode or xattr index out of range")
                }
                try add(size)
            case .setReadSource(let offset): try checkRange(offset, 32)
            case .bspatch(let offset, let length): try checkRange(offset, length)
            case .write, .unsetReadSource, .close: break
            }
        }
        return (counts, objectBytes, symlinkBytes)
    }

    /// GLib's human size, exactly as ostree prints it (`4.9 kB`, `373 bytes`).
    public static func humanSize(_ bytes: UInt64) -> String {
        guard let s = g_format_size(guint64(bytes)) else { return "\(bytes) bytes" }
        defer { g_free(s) }
        return String(cString: s)
    }
}
