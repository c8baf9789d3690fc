import DeltaCompiler
import DeltaFormat
import Foundation

/// Splits a part's real compressed size among its objects.
///
/// Each object's share of the payload (its blob bytes and its ops) is compressed with the
/// parts' preset, primed with the payload bytes just before it, so that what it shares with
/// its neighbours is not counted twice. The part's size is then divided in proportion, with
/// whole bytes handed out by largest remainder so that the shares add up to the part's size
/// exactly. Tables and framing are spread in proportion too.
public enum Attribution {
    public static let method = "each object's blob bytes and ops compressed with xz (preset 8, raw LZMA2) after "
        + "the 256 KiB of payload before them, then scaled so that a part's objects sum to its compressed size; "
        + "fallback objects count at their stored (.filez) size"

    /// What an object adds to its part's stream, at least 1 so that every object gets a share.
    public static func weight(of bytes: [UInt8], context: [UInt8] = []) throws -> UInt64 {
        UInt64(max(1, try ContextCompressor.compressedSize(bytes, context: context) - emptySize))
    }

    /// The most of one object's bytes compressed at once; bigger objects are weighed on
    /// eight evenly spaced slices of this much in all, as the generator's estimates are.
    public static let sampleLimit = 4 << 20

    /// The weights of a part's shares, each primed with the payload before it. Payload reads
    /// stay on this thread; the compression, which is the cost, runs on as many threads as
    /// deltagen may use, one bounded batch at a time, so memory follows the thread count and
    /// not the part's size.
    public static func weights(_ shares: [ObjectShare], in payload: PartPayloadIndex) throws -> [UInt64] {
        let threads = max(1, min(CPUBudget.current, shares.count))
        var weights: [UInt64] = []
        weights.reserveCapacity(shares.count)
        for start in stride(from: 0, to: shares.count, by: threads * 4) {
            let batch: [(sample: (bytes: [UInt8], scale: Double), context: [UInt8])] =
                try shares[start..<min(shares.count, start + threads * 4)].map {
                    (try $0.sample(in: payload.bytes, limit: sampleLimit),
                     try $0.context(in: payload, limit: ContextCompressor.contextSize))
                }
            let results = Monitor([Result<UInt64, any Error>](repeating: .success(0), count: batch.count))
            DispatchQueue.concurrentPerform(iterations: min(threads, batch.count)) { worker in
                for i in stride(from: worker, to: batch.count, by: threads) {
                    let result = Result {
                        let measured = try weight(of: batch[i].sample.bytes, context: batch[i].context)
                        return UInt64((Double(measured) * batch[i].sample.scale).rounded())
                    }
                    results.withLock { $0[i] = result }
                }
            }
            weights += try results.withLock { try $0.map { try $0.get() } }
        }
        return weights
    }

    /// A raw LZMA2 stream with no input: its end marker.
    static let emptySize = (try? ContextCompressor.compressedSize([], context: [])) ?? 1

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
