import CGLib
import DeltaFormat

/// Decompresses a whole stream in memory: gzip through GIO's zlib converter, xz through
/// liblzma. zstd and bzip2 have no decoder linked into deltagen, so they are not measured.
enum Decompression {
    /// A decompressed file beyond this is not measured (it would not be held in memory).
    static let maxOutput = 256 << 20

    static func decompress(_ bytes: [UInt8], _ format: StreamFormat) throws -> [UInt8]? {
        switch format {
        case .gzip: return try gunzip(bytes)
        case .xz: return try XZ.decompress(bytes, maxOutput: maxOutput)
        case .zstd, .bzip2: return nil
        }
    }

    /// All members of a gzip file, concatenated, as gzip -d writes them.
    static func gunzip(_ input: [UInt8]) throws -> [UInt8] {
        guard !input.isEmpty else { throw InsightError("not a valid gzip stream: empty") }
        guard let decompressor = g_zlib_decompressor_new(G_ZLIB_COMPRESSOR_FORMAT_GZIP) else {
            throw InsightError("cannot create a gzip decompressor")
        }
        defer { g_object_unref(UnsafeMutableRawPointer(decompressor)) }
        let converter = decompressor  // a GZlibDecompressor is a GConverter
        var out = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        var offset = 0
        while true {
            var read: gsize = 0, written: gsize = 0
            var error: UnsafeMutablePointer<GError>? = nil
            let result = input.withUnsafeBytes { inBuf in
                chunk.withUnsafeMutableBytes { outBuf in
                    g_converter_convert(converter, inBuf.baseAddress! + offset, gsize(input.count - offset),
                                        outBuf.baseAddress, gsize(outBuf.count), G_CONVERTER_INPUT_AT_END,
                                        &read, &written, &error)
                }
            }
            if result == G_CONVERTER_ERROR {
                let message = error.map { String(cString: $0.pointee.message) } ?? "unknown"
                g_clear_error(&error)
                throw InsightError("not a valid gzip stream: \(message)")
            }
            if read == 0 && written == 0 && result != G_CONVERTER_FINISHED {
                throw InsightError("not a valid gzip stream: truncated")
            }
            offset += Int(read)
            out.append(contentsOf: chunk[0..<Int(written)])
            guard out.count <= maxOutput else { throw InsightError("decompresses past \(maxOutput) bytes") }
            if result == G_CONVERTER_FINISHED {
                // Another member may follow (gzip -d reads them all); trailing zeros end it.
                guard offset < input.count, input[offset] == 0x1F else { return out }
                g_converter_reset(converter)
            }
        }
    }
}
