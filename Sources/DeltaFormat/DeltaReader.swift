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
    /// The largest payload accepted for a part: v2026.3's client bound, capped at 1 GiB.
    public static func payloadLimit(for header: PartHeader) -> Int {
        let usize = min(header.uncompressedSize, 1 << 30)
        let perObject = UInt64(min(header.objects.count, 1 << 14)) * (256 + 65536)
        return Int(min(usize + 4096 + perObject + usize / 32, 1 << 30))
    }

    /// Parses `superblockFile` and every part. `loadPart(i, maxBytes)` returns part file `i`
    /// for non-inline deltas and must refuse files larger than `maxBytes`.
    public static func inspect(superblockFile: [UInt8],
                               loadPart: (Int, Int) throws -> [UInt8]) throws -> DeltaInspection {
        let decoded = try Superblock.decode(file: superblockFile)
        let sb = decoded.superblock
        var parts: [PartSummary] = []
        for (i, header) in sb.parts.enumerated() {
            guard header.version == 0 else { throw DeltaFormatError.malformed("part \(i) has too new version \(header.version)") }
            let file: [UInt8]
            if i < sb.inlineParts.count {
                file = sb.inlineParts[i]
            } else {
                file = try loadPart(i, Int(min(header.size, UInt64(Int.max))))
                let actual = SHA256Hasher.digest(file)
                guard actual == header.checksum else {
                    throw DeltaFormatError.malformed("part \(i) checksum mismatch: expected \(header.checksum.hex), actual \(actual.hex)")
                }
            }
            let payloadBytes = try PartFile.decode(file, maxPayload: payloadLimit(for: header))
            let payload = try PartPayload(decoding: payloadBytes)
            parts.append(PartSummary(index: i, objects: header.objects.count, size: header.size,
                                     uncompressedSize: header.uncompressedSize, modes: payload.modes.count,
                                     xattrSets: payload.xattrSets.count, blobSize: payload.blob.count,
                                     opSize: payload.ops.count, payloadSize: payloadBytes.count,
                                     opCounts: try countOps(payload, objects: header.objects)))
        }
        return DeltaInspection(decoded: decoded, parts: parts)
    }

    /// Dry-runs a part's ops: counts them and checks table indexes and blob ranges.
    static func countOps(_ payload: PartPayload, objects: [ObjectName]) throws -> [String: Int] {
        var counts = Dictionary(uniqueKeysWithValues: Opcode.showOrder.map { ($0.showName, 0) })
        var decoder = InstructionDecoder(ops: payload.ops, objects: objects)
        let blob = UInt64(payload.blob.count)
        func checkRange(_ offset: UInt64, _ size: UInt64) throws {
            guard offset <= blob, size <= blob - offset else {
                throw DeltaFormatError.malformed("invalid offset/length \(offset)/\(size)")
            }
        }
        while let instruction = try decoder.next() {
            counts[instruction.opcode.showName, default: 0] += 1
            switch instruction {
            case .spliceMetadata(let size, let offset): try checkRange(offset, size)
            case .spliceContent(let m, let x, let size, let offset):
                guard m < payload.modes.count, x < payload.xattrSets.count else {
                    throw DeltaFormatError.malformed("mode or xattr index out of range")
                }
                try checkRange(offset, size)
            case .open(let m, let x, _):
                guard m < payload.modes.count, x < payload.xattrSets.count else {
                    throw DeltaFormatError.malformed("mode or xattr index out of range")
                }
            case .setReadSource(let offset): try checkRange(offset, 32)
            case .bspatch(let offset, let length): try checkRange(offset, length)
            case .write, .unsetReadSource, .close: break
            }
        }
        return counts
    }

    /// GLib's human size, exactly as ostree prints it (`4.9 kB`, `373 bytes`).
    public static func humanSize(_ bytes: UInt64) -> String {
        guard let s = g_format_size(guint64(bytes)) else { return "\(bytes) bytes" }
        defer { g_free(s) }
        return String(cString: s)
    }
}
