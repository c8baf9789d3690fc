/// An independent bspatch written from the format doc (§7.1), used only to check the encoder.
/// It is strict where the client is: every control must be in range, and the patch must
/// produce exactly `newSize` bytes. It also reports how many patch bytes it consumed.
enum ReferenceBspatch {
    struct Failure: Error { var why: String }

    static func apply(old: [UInt8], patch: [UInt8], newSize: Int) throws -> (new: [UInt8], consumed: Int) {
        var new = [UInt8](repeating: 0, count: newSize)
        var p = 0
        func control() throws -> Int {
            guard p + 8 <= patch.count else { throw Failure(why: "truncated control") }
            var magnitude: UInt64 = 0
            for i in (0..<8).reversed() { magnitude = magnitude << 8 | UInt64(patch[p + i] & (i == 7 ? 0x7F : 0xFF)) }
            let negative = patch[p + 7] & 0x80 != 0
            p += 8
            guard magnitude <= UInt64(Int.max) else { throw Failure(why: "control overflow") }
            return negative ? -Int(magnitude) : Int(magnitude)
        }
        var newPos = 0, oldPos = 0
        while newPos < newSize {
            let diffLength = try control(), extraLength = try control(), seek = try control()
            guard diffLength >= 0, extraLength >= 0, newPos + diffLength <= newSize else { throw Failure(why: "bad diff length") }
            guard p + diffLength <= patch.count else { throw Failure(why: "truncated diff") }
            for i in 0..<diffLength {
                var b = patch[p + i]
                if oldPos + i >= 0 && oldPos + i < old.count { b = b &+ old[oldPos + i] }
                new[newPos + i] = b
            }
            p += diffLength
            newPos += diffLength
            oldPos += diffLength
            guard newPos + extraLength <= newSize, p + extraLength <= patch.count else { throw Failure(why: "bad extra length") }
            for i in 0..<extraLength { new[newPos + i] = patch[p + i] }
            p += extraLength
            newPos += extraLength
            oldPos += seek
        }
        return (new, p)
    }
}
