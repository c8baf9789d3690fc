import CLZMA
import DeltaFormat
import Glibc

/// Rollsum over files too big to hold: the same chunks and matches as `Rollsum.match`, read
/// through 1 MiB blocks of files kept on disk (`PayloadBuffer`).
///
/// A chunk's split search restarts at each chunk, and ostree's cut at 32 KiB makes the next
/// chunk search again from its own start. In a long run without a split point (zeros, say)
/// that search would cover the same bytes again for every 32 KiB: quadratic. But the rolling
/// checksum depends only on the last 64 bytes once 64 have been read, so a split point more
/// than 64 bytes past a chunk's start is the same whichever earlier start found it. The
/// search here reuses it, and scans only the first 64 bytes of each later chunk afresh.
extension Rollsum {
    /// bup's rolling checksum state, fed one block at a time.
    struct RollingState {
        var s1: UInt32 = UInt32(windowSize) &* charOffset
        var s2: UInt32 = UInt32(windowSize) &* UInt32(windowSize - 1) &* charOffset
        var window = [UInt8](repeating: 0, count: windowSize)
        var wofs = 0

        /// Feeds `buf[range]`; returns the index in `buf` of the byte that ends a split, or nil.
        mutating func feed(_ buf: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Int? {
            for k in range {
                let ch = UInt32(buf[k])
                let drop = UInt32(window[wofs])
                s1 = s1 &+ ch &- drop
                s2 = s2 &+ s1 &- UInt32(windowSize) &* (drop &+ charOffset)
                window[wofs] = UInt8(ch)
                wofs = (wofs + 1) & (windowSize - 1)
                if s2 & blobMask == blobMask { return k }
            }
            return nil
        }
    }

    /// Reads a file one block at a time, keeping the last block.
    final class BlockReader {
        let source: RandomAccessBytes
        static let blockSize = 1 << 20
        private var start = -1
        private var block: [UInt8] = []

        init(_ source: RandomAccessBytes) { self.source = source }

        var count: Int { source.count }

        /// The block holding `offset`, and where it starts.
        func block(at offset: Int) throws -> (bytes: [UInt8], start: Int) {
            let blockStart = offset - offset % BlockReader.blockSize
            if blockStart != start {
                block = try source.read(blockStart..<min(source.count, blockStart + BlockReader.blockSize))
                start = blockStart
            }
            return (block, start)
        }

        /// Bytes `range`, which may span blocks.
        func bytes(_ range: Range<Int>) throws -> [UInt8] {
            if range.isEmpty { return [] }
            let (first, firstStart) = try block(at: range.lowerBound)
            if range.upperBound <= firstStart + first.count {
                return Array(first[(range.lowerBound - firstStart)..<(range.upperBound - firstStart)])
            }
            return try source.read(range)
        }
    }

    /// `chunks(_:)` for a file on disk.
    static func chunks(_ reader: BlockReader) throws -> [Chunk] {
        var out: [Chunk] = []
        let total = reader.count
        var start = 0
        var ended = false
        // Just past the last split point a search found, and where that search started.
        var known: (end: Int, from: Int)? = nil
        while start < total {
            let remaining = total - start
            var found = 0
            if !ended {
                let limit = start + min(Int(Int32.max), remaining)
                var state = RollingState()
                var pos = start
                // With a split point known beyond a full window from here, only the first
                // window's bytes can split differently.
                let reuse = known.map { $0.from <= start && $0.end - 1 >= start + windowSize && $0.end <= limit } ?? false
                let scanEnd = reuse ? start + windowSize : limit
                search: while pos < scanEnd {
                    let (block, blockStart) = try reader.block(at: pos)
                    let to = min(block.count, scanEnd - blockStart)
                    let hit = block.withUnsafeBufferPointer { state.feed($0, (pos - blockStart)..<to) }
                    if let hit {
                        found = blockStart + hit + 1 - start
                        break search
                    }
                    pos = blockStart + to
                }
                if found == 0 && reuse { found = known!.end - start }
                if found > 0 && !(reuse && found == known!.end - start) { known = (start + found, start) }
            }
            let length = chunkLength(split: found, remaining: remaining, ended: &ended)
            var crc: UInt64 = 0
            var piece = start
            while piece < start + length {
                let (block, blockStart) = try reader.block(at: piece)
                let to = min(block.count, start + length - blockStart)
                crc = block.withUnsafeBufferPointer { UInt64(lzma_crc32($0.baseAddress! + (piece - blockStart), to - (piece - blockStart), UInt32(crc))) }
                piece = blockStart + to
            }
            out.append(Chunk(crc: UInt32(crc), offset: start, length: length))
            start += length
        }
        return out
    }

    /// `match(old:new:)` for files on disk.
    static func match(old: RandomAccessBytes, new: RandomAccessBytes) throws -> Result {
        let oldReader = BlockReader(old), newReader = BlockReader(new)
        var byCRC: [UInt32: [Chunk]] = [:]
        for c in try chunks(oldReader) { byCRC[c.crc, default: []].append(c) }
        let newChunks = try chunks(newReader)
        var matches: [Match] = []
        var bytes = 0
        for c in newChunks {
            guard let candidates = byCRC[c.crc] else { continue }
            let newBytes = try newReader.bytes(c.offset..<(c.offset + c.length))
            for candidate in candidates where candidate.length == c.length {
                guard try oldReader.bytes(candidate.offset..<(candidate.offset + candidate.length)) == newBytes else { continue }
                matches.append(Match(length: c.length, newOffset: c.offset, oldOffset: candidate.offset))
                bytes += c.length
                break
            }
        }
        return Result(matches: matches, totalChunks: newChunks.count, matchedChunks: matches.count, matchedBytes: bytes)
    }
}
