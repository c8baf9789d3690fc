import DeltaFormat

/// Splits a part's real compressed size among its objects.
///
/// Each object's share of the payload (its blob bytes and its ops) is compressed on its own
/// with the settings parts use, less the bytes an xz stream costs with nothing in it; the
/// part's size is then divided in proportion, with whole bytes handed out by largest
/// remainder so that the shares add up to the part's size exactly. Tables, framing and the
/// sharing of redundancy between objects are spread in proportion too.
public enum Attribution {
    public static let method = "each object's blob bytes and ops compressed on their own with xz (preset 8), "
        + "less an empty stream's size, then scaled so that a part's objects sum to its compressed size; "
        + "fallback objects count at their stored (.filez) size"

    /// What a stream with no input costs: headers, index and footer.
    static let emptyStreamSize: Int = (try? XZ.compress(segments: [], settings: .parts).count) ?? 32

    /// The standalone compressed size of `bytes`, less an empty stream's: at least 1, so
    /// that every object gets a share. The dictionary is cut to the input's size, which
    /// changes nothing in the output but spares a big encoder for a small object.
    public static func weight(of bytes: [UInt8]) throws -> UInt64 {
        var settings = XZ.Settings.parts
        let dictionary = max(UInt32(1 << 16), UInt32(min(bytes.count, Int(XZ.Settings.defaultDictionarySize))))
        settings.dictionarySize = min(dictionary, XZ.Settings.defaultDictionarySize)
        let size = try XZ.compress(segments: [bytes], settings: settings).count
        return UInt64(max(1, size - emptyStreamSize))
    }

    /// Divides `total` in proportion to `weights`: the results sum to `total` exactly.
    public static func scale(_ weights: [UInt64], to total: UInt64) -> [UInt64] {
        guard !weights.isEmpty else { return [] }
        let sum = weights.reduce(0, +)
        guard sum > 0 else {
            var even = [UInt64](repeating: total / UInt64(weights.count), count: weights.count)
            for i in 0..<Int(total % UInt64(weights.count)) { even[i] += 1 }
            return even
        }
        var shares: [UInt64] = []
        var remainders: [(index: Int, remainder: UInt64)] = []
        for (i, w) in weights.enumerated() {
            // total * w fits 128 bits whatever the sizes.
            let (q, r) = sum.dividingFullWidth(total.multipliedFullWidth(by: w))
            shares.append(q)
            remainders.append((i, r))
        }
        var left = total - shares.reduce(0, +)
        for entry in remainders.sorted(by: { $0.remainder != $1.remainder ? $0.remainder > $1.remainder : $0.index < $1.index }) {
            guard left > 0 else { break }
            shares[entry.index] += 1
            left -= 1
        }
        return shares
    }
}
