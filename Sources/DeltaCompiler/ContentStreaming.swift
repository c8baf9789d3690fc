import DeltaFormat
import Foundation
import OSTreeRepo

/// Content objects too big to hold (`DeltaOptions.streamAbove`): read in pieces, checked
/// against their checksums on the way, and shipped as streamed blob segments. Memory per
/// object is a few MiB whatever its size; a modified one goes through files on disk.
extension ContentEncoder {
    func encodeStreaming(_ item: PlannedContent, repo: Repository) throws -> EncodedContent {
        let h = item.header
        if let source = item.predecessor {
            // bsdiff holds both files, which --max-bsdiff-size bounds.
            if options.bsdiffEnabled && item.predecessorSize + h.size <= options.maxBsdiffSize {
                return try encodeInMemory(item, repo: repo)
            }
            if options.rollsumEnabled {
                let old = try spill(source, repo: repo)
                let new = try spill(item.checksum, repo: repo)
                let rollsum = try Rollsum.match(old: old, new: new)
                if rollsum.matchedChunks > 0 {
                    return .streamedRollsum(item.checksum, h, source: source, new: new, matches: rollsum.matches)
                }
                // Nothing in common with its predecessor (a disk image replaced wholesale):
                // it travels as a new file would, as a fallback when it is one.
            }
        }
        if let entry = try fallbackCandidate(item, repo: repo) {
            // ostree's rule needs no byte of the file.
            if options.fallbackPolicy == .always { return .fallback(entry) }
            let xzSize = try sampledEstimate(item.checksum, h, repo: repo)
            if !ContentEncoder.shipsInPart(xzEstimate: xzSize, stored: entry.compressedSize) { return .fallback(entry) }
        }
        return .streamedLiteral(item.checksum, h, contentStream(item.checksum, h))
    }

    /// Reads object `checksum` through its stream, checking its checksum at the end.
    private static func readChecked(_ checksum: Checksum, repo: Repository, _ body: ([UInt8]) throws -> Void) throws {
        let name = ObjectName(checksum, .file)
        let object: ContentObject
        do {
            object = try repo.loadContent(checksum)
        } catch let e as RepositoryError {
            throw WalkError.reading(name, in: repo, e)
        }
        let h = object.header
        let hasher = ContentObjectHeader.hasher(mode: h.fileMode, symlinkTarget: nil, xattrs: h.xattrs)
        var total: UInt64 = 0
        do {
            try object.stream?.forEachPiece { piece in
                total += UInt64(piece.count)
                hasher.update(UnsafeRawBufferPointer(piece))
                try body(Array(piece))
            }
        } catch let e as RepositoryError {
            throw WalkError.reading(name, in: repo, e)
        }
        let actual = hasher.finish()
        guard total == h.size, actual == checksum else { throw GenerateError.corruptContent(checksum, actual: actual) }
    }

    /// The object's bytes for its part, read when the part's compressor gets to them, on a
    /// repository handle of their own.
    private func contentStream(_ checksum: Checksum, _ h: ContentHeader) -> BlobStream {
        let repoPath = self.repoPath
        return BlobStream(size: Int(h.size)) { emit in
            try ContentEncoder.readChecked(checksum, repo: try Repository(path: repoPath), emit)
        }
    }

    /// The object's content in an unlinked file (nothing of it in memory).
    private func spill(_ checksum: Checksum, repo: Repository) throws -> PayloadBuffer {
        let buffer = PayloadBuffer(memoryLimit: 0, spillDirectory: PartReading.spillDirectory)
        try ContentEncoder.readChecked(checksum, repo: repo) { piece in
            try piece.withUnsafeBufferPointer { try buffer.append($0) }
        }
        try buffer.finish()
        return buffer
    }

    /// `xzEstimate` of the object, from the same slices, read in one pass.
    private func sampledEstimate(_ checksum: Checksum, _ h: ContentHeader, repo: Repository) throws -> Int {
        let count = Int(h.size)
        guard let ranges = ContentEncoder.estimateRanges(count: count) else {
            var whole: [UInt8] = []
            try ContentEncoder.readChecked(checksum, repo: repo) { whole.append(contentsOf: $0) }
            return ContentEncoder.xzEstimate(whole)
        }
        var slices = ranges.map { _ in [UInt8]() }
        var offset = 0
        try ContentEncoder.readChecked(checksum, repo: repo) { piece in
            let pieceRange = offset..<(offset + piece.count)
            for (i, range) in ranges.enumerated() where range.overlaps(pieceRange) {
                let lo = max(range.lowerBound, pieceRange.lowerBound), hi = min(range.upperBound, pieceRange.upperBound)
                slices[i].append(contentsOf: piece[(lo - offset)..<(hi - offset)])
            }
            offset += piece.count
        }
        return ContentEncoder.xzEstimate(sample: slices.flatMap { $0 }, of: count)
    }
}
