import CLZMA

/// xz streams for delta parts, through liblzma.
public enum XZ {
    /// ostree's encoder setting: preset 8 (32 MiB dictionary, ~33 MiB to decode), CRC64.
    public static let defaultPreset: UInt32 = 8
    /// liblzma's "extreme" flag, or-ed into a preset: about 2.4× the CPU for 3–13% smaller patches.
    public static let extremeFlag: UInt32 = 0x8000_0000
    /// The decoder memory limit newer ostree clients enforce (format §4.2).
    public static let clientMemoryLimit: UInt64 = 100 * 1024 * 1024

    /// Compresses `input` into one .xz stream with a single check type of CRC64.
    public static func compress(_ input: [UInt8], preset: UInt32 = defaultPreset) throws -> [UInt8] {
        var stream = lzma_stream()
        let status = lzma_easy_encoder(&stream, preset, LZMA_CHECK_CRC64)
        guard status == LZMA_OK else { throw DeltaFormatError.compression("xz encoder init failed (\(status.rawValue))") }
        defer { lzma_end(&stream) }
        var output = [UInt8]()
        output.reserveCapacity(input.count / 3 + 4096)
        try run(&stream, input: input, action: LZMA_FINISH, into: &output, limit: Int.max)
        return output
    }

    /// Compresses the concatenation of `segments` into one .xz stream, without joining them
    /// first, so a part's blob is never copied just to be compressed.
    public static func compress(segments: [[UInt8]], preset: UInt32 = defaultPreset) throws -> [UInt8] {
        var stream = lzma_stream()
        let status = lzma_easy_encoder(&stream, preset, LZMA_CHECK_CRC64)
        guard status == LZMA_OK else { throw DeltaFormatError.compression("xz encoder init failed (\(status.rawValue))") }
        defer { lzma_end(&stream) }
        var output = [UInt8]()
        output.reserveCapacity(segments.reduce(0) { $0 + $1.count } / 3 + 4096)
        for segment in segments where !segment.isEmpty {
            try run(&stream, input: segment, action: LZMA_RUN, into: &output, limit: Int.max)
        }
        try run(&stream, input: [], action: LZMA_FINISH, into: &output, limit: Int.max)
        return output
    }

    /// Decompresses one .xz stream, refusing to produce more than `maxOutput` bytes or to
    /// use more than `memoryLimit` bytes of decoder memory (an xz bomb fails, it does not grow).
    public static func decompress(_ input: [UInt8], maxOutput: Int,
                                  memoryLimit: UInt64 = clientMemoryLimit) throws -> [UInt8] {
        var stream = lzma_stream()
        let status = lzma_stream_decoder(&stream, memoryLimit, 0)
        guard status == LZMA_OK else { throw DeltaFormatError.compression("xz decoder init failed (\(status.rawValue))") }
        defer { lzma_end(&stream) }
        var output = [UInt8]()
        try run(&stream, input: input, action: LZMA_FINISH, into: &output, limit: maxOutput)
        return output
    }

    private static func run(_ stream: inout lzma_stream, input: [UInt8], action: lzma_action,
                            into output: inout [UInt8], limit: Int) throws {
        let chunk = 1 << 16
        var buffer = [UInt8](repeating: 0, count: chunk)
        try input.withUnsafeBufferPointer { inBuf in
            stream.next_in = inBuf.baseAddress
            stream.avail_in = inBuf.count
            while true {
                let result: lzma_ret = buffer.withUnsafeMutableBufferPointer { outBuf in
                    stream.next_out = outBuf.baseAddress
                    stream.avail_out = chunk
                    return lzma_code(&stream, action)
                }
                let produced = chunk - stream.avail_out
                if produced > 0 {
                    guard output.count + produced <= limit else {
                        throw DeltaFormatError.compression("xz stream expands past its declared size of \(limit) bytes")
                    }
                    output.append(contentsOf: buffer[0..<produced])
                }
                switch result {
                case LZMA_OK:
                    // With LZMA_RUN the segment is done once all of it is consumed and no output is pending.
                    if action == LZMA_RUN && stream.avail_in == 0 && stream.avail_out > 0 { return }
                    continue
                case LZMA_STREAM_END:
                    guard stream.avail_in == 0 else { throw DeltaFormatError.compression("trailing bytes after the xz stream") }
                    return
                case LZMA_BUF_ERROR: throw DeltaFormatError.compression("xz stream is truncated")
                case LZMA_MEMLIMIT_ERROR: throw DeltaFormatError.compression("xz stream needs more than \(XZ.clientMemoryLimit / 1048576) MiB to decode")
                case LZMA_FORMAT_ERROR: throw DeltaFormatError.compression("not an xz stream")
                case LZMA_DATA_ERROR: throw DeltaFormatError.compression("xz data is corrupt")
                case LZMA_OPTIONS_ERROR: throw DeltaFormatError.compression("unsupported xz options")
                default: throw DeltaFormatError.compression("xz error \(result.rawValue)")
                }
            }
        }
    }
}
