import CLZMA
import Glibc

/// ostree's rollsum matching (format §8): content-defined chunks from bup's rolling
/// checksum, matched between an old and a new file by CRC-32 and exact bytes.
public enum Rollsum {
    static let windowSize = 64
    static let charOffset: UInt32 = 31
    static let blobMask: UInt32 = 0x1FFF  // BUP_BLOBBITS = 13
    static let maxChunk = 32768

    public struct Chunk: Equatable {
        public var crc: UInt32
        public var offset: Int
        public var length: Int
    }

    public struct Match: Equatable {
        public var length: Int
        public var newOffset: Int
        public var oldOffset: Int
    }

    public struct Result {
        public var matches: [Match]
        /// Number of new-file chunks, and how many of them matched.
        public var totalChunks: Int
        public var matchedChunks: Int
        public var matchedBytes: Int
    }

    /// bupsplit's `find_ofs`: the offset just past the first split point, or 0 if none.
    static func splitPoint(_ buf: UnsafeBufferPointer<UInt8>, from start: Int, count: Int) -> Int {
        var s1: UInt32 = UInt32(windowSize) &* charOffset
        var s2: UInt32 = UInt32(windowSize) &* UInt32(windowSize - 1) &* charOffset
        var window = [UInt8](repeating: 0, count: windowSize)
        var wofs = 0
        for k in 0..<count {
            let ch = UInt32(buf[start + k])
            let drop = UInt32(window[wofs])
            s1 = s1 &+ ch &- drop
            s2 = s2 &+ s1 &- UInt32(windowSize) &* (drop &+ charOffset)
            window[wofs] = UInt8(ch)
            wofs = (wofs + 1) & (windowSize - 1)
            if s2 & blobMask == blobMask { return k + 1 }
        }
        return 0
    }

    /// A chunk's length from the split search's result (0: none in the rest of the file,
    /// after which no chunk searches again) and the bytes remaining.
    static func chunkLength(split: Int, remaining: Int, ended: inout Bool) -> Int {
        if split == 0 {
            ended = true
            return min(maxChunk, remaining)
        }
        return min(split, maxChunk)
    }

    /// Cuts `buf` into chunks exactly as ostree does (§8.2).
    public static func chunks(_ buf: UnsafeBufferPointer<UInt8>) -> [Chunk] {
        var out: [Chunk] = []
        var start = 0
        var ended = false
        while start < buf.count {
            let remaining = buf.count - start
            let split = ended ? 0 : splitPoint(buf, from: start, count: min(Int(Int32.max), remaining))
            let length = chunkLength(split: split, remaining: remaining, ended: &ended)
            let crc = UInt32(lzma_crc32(buf.baseAddress! + start, length, 0))
            out.append(Chunk(crc: crc, offset: start, length: length))
            start += length
        }
        return out
    }

    /// Matches new-file chunks against old-file chunks; the matches come sorted by new offset.
    public static func match(old: [UInt8], new: [UInt8]) -> Result {
        old.withUnsafeBufferPointer { o in
            new.withUnsafeBufferPointer { n in
                let oldChunks = chunks(o)
                var byCRC: [UInt32: [Chunk]] = [:]
                for c in oldChunks { byCRC[c.crc, default: []].append(c) }
                let newChunks = chunks(n)
                var matches: [Match] = []
                var bytes = 0
                for c in newChunks {
                    guard let candidates = byCRC[c.crc] else { continue }
                    for candidate in candidates where candidate.length == c.length &&
                        memcmp(o.baseAddress! + candidate.offset, n.baseAddress! + c.offset, c.length) == 0 {
                        matches.append(Match(length: c.length, newOffset: c.offset, oldOffset: candidate.offset))
                        bytes += c.length
                        break
                    }
                }
                return Result(matches: matches, totalChunks: newChunks.count, matchedChunks: matches.count, matchedBytes: bytes)
            }
        }
    }
}
