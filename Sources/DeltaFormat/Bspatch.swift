/// Applies a raw bsdiff stream (format §7.1) the way the client's BSPATCH op does, but with
/// every control checked, so a hostile patch is an error, not an abort.
public enum Bspatch {
    public static func apply(old: [UInt8], patch: ArraySlice<UInt8>, newSize: Int) throws -> [UInt8] {
        // Every new byte comes from a diff or an extra byte in the patch, so a valid patch is
        // at least as long as the file it makes. Checking first bounds the allocation.
        guard newSize >= 0, newSize <= patch.count else {
            throw DeltaFormatError.malformed("bsdiff patch of \(patch.count) bytes cannot produce \(newSize) bytes")
        }
        var new = [UInt8](repeating: 0, count: newSize)
        var p = patch.startIndex
        func control() throws -> Int {
            guard patch.endIndex - p >= 8 else { throw DeltaFormatError.malformed("bsdiff patch ends inside a control record") }
            var magnitude: UInt64 = 0
            for i in 0..<8 { magnitude |= UInt64(patch[p + i] & (i == 7 ? 0x7F : 0xFF)) << (8 * UInt64(i)) }
            let negative = patch[p + 7] & 0x80 != 0
            p += 8
            guard magnitude <= UInt64(Int.max / 2) else {
                throw DeltaFormatError.malformed("bsdiff control value out of range")
            }
            return negative ? -Int(magnitude) : Int(magnitude)
        }
        var newPos = 0, oldPos = 0
        while newPos < newSize {
            let diffCount = try control(), extraCount = try control(), seek = try control()
            guard diffCount >= 0, extraCount >= 0, diffCount <= newSize - newPos,
                  extraCount <= newSize - newPos - diffCount else {
                throw DeltaFormatError.malformed("bsdiff record runs past the new size")
            }
            guard patch.endIndex - p >= diffCount + extraCount else {
                throw DeltaFormatError.malformed("bsdiff patch is truncated")
            }
            for i in 0..<diffCount {
                // A hostile seek can put oldPos anywhere; past either end reads as zero.
                let (o, overflow) = oldPos.addingReportingOverflow(i)
                new[newPos + i] = patch[p + i] &+ (!overflow && o >= 0 && o < old.count ? old[o] : 0)
            }
            p += diffCount
            newPos += diffCount
            oldPos += diffCount
            for i in 0..<extraCount { new[newPos + i] = patch[p + i] }
            p += extraCount
            newPos += extraCount
            let (sum, overflow) = oldPos.addingReportingOverflow(seek)
            guard !overflow else { throw DeltaFormatError.malformed("bsdiff seek overflows") }
            oldPos = sum
        }
        return new
    }
}
