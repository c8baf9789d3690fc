/// Bytes read by range: a part's decompressed payload, or a read source's content. The
/// verifier keeps big ones in a file rather than in memory; small ones are arrays.
public protocol RandomAccessBytes {
    var count: Int { get }
    /// The bytes in `range`, which lies within `0..<count`.
    func read(_ range: Range<Int>) throws -> [UInt8]
}

extension Array: RandomAccessBytes where Element == UInt8 {
    public func read(_ range: Range<Int>) throws -> [UInt8] { Array(self[range]) }
}

extension RandomAccessBytes {
    /// Hands `range` over in pieces of at most `chunk` bytes, so a large range is never
    /// held whole.
    public func forEachChunk(in range: Range<Int>, chunk: Int = 1 << 20,
                             _ body: ([UInt8]) throws -> Void) throws {
        var start = range.lowerBound
        while start < range.upperBound {
            let end = start + min(chunk, range.upperBound - start)
            try body(try read(start..<end))
            start = end
        }
    }
}
