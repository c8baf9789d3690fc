/// A part payload `(a(uuu)aa(ayay)ayay)` read in place: its tables and ops in memory, its
/// blob left where it is and read by range. A payload can be gigabytes (one big file in a
/// part), so the replay and `show` never hold it whole.
///
/// The tables and ops of any real delta are small (12 bytes a mode, a few bytes an op), so
/// each is refused beyond `maxSectionSize`: that bounds what a hostile payload can make a
/// reader allocate, whatever sizes it declares.
public struct PartPayloadIndex {
    public static let maxSectionSize = 32 << 20

    public let modes: [FileMode]
    public let xattrSets: [[UInt8]]
    public let ops: [UInt8]
    /// Where the blob lies in `bytes`.
    public let blob: Range<Int>
    public let bytes: RandomAccessBytes

    public init(_ bytes: RandomAccessBytes) throws {
        self.bytes = bytes
        let size = bytes.count
        // The first three members are variable-sized, so the tuple ends with their end
        // offsets, the first member's last (GVariant's framing).
        let width = FramingOffsets.readerWidth(containerSize: size)
        let tableStart = size - 3 * width
        guard tableStart >= 0 else { throw DeltaFormatError.malformed("part payload framing truncated") }
        let framing = try bytes.read(tableStart..<size)
        func offset(_ i: Int) -> Int {
            var v: UInt64 = 0
            for b in framing[(i * width)..<((i + 1) * width)].reversed() { v = v << 8 | UInt64(b) }
            return v > UInt64(Int.max) ? Int.max : Int(v)
        }
        let (blobEnd, xattrsEnd, modesEnd) = (offset(0), offset(1), offset(2))
        guard modesEnd <= xattrsEnd, xattrsEnd <= blobEnd, blobEnd <= tableStart else {
            throw DeltaFormatError.malformed("part payload members out of bounds")
        }
        func section(_ range: Range<Int>, _ what: String) throws -> [UInt8] {
            guard range.count <= PartPayloadIndex.maxSectionSize else {
                throw DeltaFormatError.malformed("part payload \(what) is \(range.count) bytes, more than \(PartPayloadIndex.maxSectionSize)")
            }
            return try bytes.read(range)
        }
        modes = try PartPayload.decodeModes(GVariantView(try section(0..<modesEnd, "mode table"),
                                                         type: PartPayload.modeTableType))
        xattrSets = try PartPayload.decodeXattrSets(GVariantView(try section(modesEnd..<xattrsEnd, "xattr table"),
                                                                 type: PartPayload.xattrTableType))
        ops = try section(blobEnd..<tableStart, "ops")
        blob = xattrsEnd..<blobEnd
    }

    /// The payload range of blob bytes `offset..<offset+size`, checked against the blob.
    public func blobRange(offset: UInt64, size: UInt64) throws -> Range<Int> {
        let count = UInt64(blob.count)
        guard offset <= count, size <= count - offset else {
            throw DeltaFormatError.malformed("invalid offset/length \(offset)/\(size)")
        }
        return (blob.lowerBound + Int(offset))..<(blob.lowerBound + Int(offset + size))
    }
}
