import CLZMA
import DeltaFormat

/// The compressed size of some bytes *after* the bytes that precede them in a part: raw
/// LZMA2 at the parts' preset, primed with the preceding payload as a preset dictionary.
/// Compressed alone, an object that shares words with its neighbours (text, similar
/// patches) looks as costly as a random one; primed, it costs what it adds to the stream.
enum ContextCompressor {
    /// How much of the preceding payload primes the encoder: neighbours share most of what
    /// they share within this distance, and hashing it for every object stays cheap.
    static let contextSize = 256 << 10

    static func compressedSize(_ bytes: [UInt8], context: [UInt8]) throws -> Int {
        var options = lzma_options_lzma()
        guard lzma_lzma_preset(&options, XZ.defaultPreset) == 0 else {
            throw InsightError("unsupported xz preset \(XZ.defaultPreset)")
        }
        // A dictionary no bigger than what it will hold: same output, far smaller tables to
        // clear for each object.
        var dictionary = UInt32(4096)
        while Int(dictionary) < context.count + bytes.count && dictionary < XZ.Settings.defaultDictionarySize { dictionary <<= 1 }
        options.dict_size = dictionary
        return try context.withUnsafeBufferPointer { ctx in
            if ctx.count > 0 {
                options.preset_dict = ctx.baseAddress
                options.preset_dict_size = UInt32(ctx.count)
            }
            var stream = lzma_stream()
            let status: lzma_ret = withUnsafeMutablePointer(to: &options) { lzma2 in
                // LZMA_FILTER_LZMA2 and LZMA_VLI_UNKNOWN are macros Swift does not import.
                var filters = [lzma_filter(id: 0x21, options: UnsafeMutableRawPointer(lzma2)),
                               lzma_filter(id: .max, options: nil)]
                return lzma_raw_encoder(&stream, &filters)
            }
            defer { lzma_end(&stream) }
            guard status == LZMA_OK else { throw InsightError("xz encoder init failed (\(status.rawValue))") }
            var produced = 0
            var out = [UInt8](repeating: 0, count: 1 << 16)
            try bytes.withUnsafeBufferPointer { input in
                stream.next_in = input.baseAddress
                stream.avail_in = input.count
                while true {
                    let result: lzma_ret = out.withUnsafeMutableBufferPointer { buffer in
                        stream.next_out = buffer.baseAddress
                        stream.avail_out = buffer.count
                        return lzma_code(&stream, LZMA_FINISH)
                    }
                    produced += out.count - stream.avail_out
                    if result == LZMA_STREAM_END { return }
                    guard result == LZMA_OK else { throw InsightError("xz error \(result.rawValue)") }
                }
            }
            return produced
        }
    }
}
