import CLZMA

/// xz streams for delta parts, through liblzma.
public enum XZ {
    /// ostree's encoder setting: preset 8 (32 MiB dictionary, ~33 MiB to decode), CRC64.
    public static let defaultPreset: UInt32 = 8
    /// liblzma's "extreme" flag, or-ed into a preset: about 2.4× the CPU for 3–13% smaller patches.
    public static let extremeFlag: UInt32 = 0x8000_0000
    /// The decoder memory limit newer ostree clients enforce (format §4.2).
    public static let clientMemoryLimit: UInt64 = 100 * 1024 * 1024

    /// How parts are compressed: an easy preset, optionally with its dictionary replaced.
    public struct Settings: Sendable, Equatable {
        public var preset: UInt32
        /// Dictionary size in bytes; nil keeps the preset's.
        public var dictionarySize: UInt32?

        public init(preset: UInt32 = defaultPreset, dictionarySize: UInt32? = nil) {
            self.preset = preset
            self.dictionarySize = dictionarySize
        }

        /// Memory one encoder with these settings allocates, as liblzma computes it.
        public var encoderMemory: UInt64 {
            var options = lzma_options_lzma()
            guard lzma_lzma_preset(&options, preset) == 0 else { return 0 }
            if let size = dictionarySize { options.dict_size = size }
            return withUnsafeMutablePointer(to: &options) { lzma2 in
                var filters = [lzma_filter(id: 0x21, options: UnsafeMutableRawPointer(lzma2)),
                               lzma_filter(id: .max, options: nil)]
                return lzma_raw_encoder_memusage(&filters)
            }
        }

        /// deltagen's default for parts: ostree's preset 8 with an 8 MiB dictionary instead of
        /// 32 MiB. On the Debian corpus that is 0.04% smaller from→to and 0.9% larger from
        /// scratch; each encoder needs 94 MiB instead of 370 MiB, so parts compress in parallel
        /// within ostree's peak memory, and clients decode in 9 MiB (docs/encoding.md).
        public static let parts = Settings(preset: defaultPreset, dictionarySize: defaultDictionarySize)
        public static let defaultDictionarySize: UInt32 = 8 << 20
        /// Exactly what ostree's generator uses.
        public static let ostree = Settings(preset: defaultPreset)
    }

    /// One .xz stream (CRC64 check) compressed piece by piece, for parts that are compressed
    /// while they are still being filled. The compressed bytes go to `sink` as they come
    /// (a part file), or, without one, accumulate in `output`.
    public final class StreamEncoder {
        public typealias Sink = (UnsafeBufferPointer<UInt8>) throws -> Void
        private var stream = lzma_stream()
        private var finished = false
        private let sink: Sink?
        public private(set) var output: [UInt8] = []
        public private(set) var inputSize = 0

        public init(settings: Settings, sink: Sink? = nil) throws {
            self.sink = sink
            var options = lzma_options_lzma()
            guard lzma_lzma_preset(&options, settings.preset) == 0 else {
                throw DeltaFormatError.compression("unsupported xz preset \(settings.preset & 0xff)")
            }
            if let size = settings.dictionarySize { options.dict_size = size }
            // LZMA_FILTER_LZMA2 and LZMA_VLI_UNKNOWN are macros Swift does not import.
            let status: lzma_ret = withUnsafeMutablePointer(to: &options) { lzma2 in
                var filters = [lzma_filter(id: 0x21, options: UnsafeMutableRawPointer(lzma2)),
                               lzma_filter(id: .max, options: nil)]
                return lzma_stream_encoder(&stream, &filters, LZMA_CHECK_CRC64)
            }
            guard status == LZMA_OK else {
                lzma_end(&stream)
                throw DeltaFormatError.compression("xz encoder init failed (\(status.rawValue))")
            }
        }

        deinit { lzma_end(&stream) }

        public func append(_ bytes: [UInt8]) throws {
            precondition(!finished, "append after finish")
            guard !bytes.isEmpty else { return }
            inputSize += bytes.count
            try code(bytes, LZMA_RUN)
        }

        /// Ends the stream and returns what accumulated in `output` (nothing with a sink).
        public func finish() throws -> [UInt8] {
            precondition(!finished, "finish called twice")
            finished = true
            try code([], LZMA_FINISH)
            return output
        }

        private func code(_ bytes: [UInt8], _ action: lzma_action) throws {
            if let sink {
                try XZ.run(&stream, input: bytes, action: action, sink: sink)
            } else {
                try XZ.run(&stream, input: bytes, action: action, into: &output, limit: Int.max)
            }
        }
    }

    /// Compresses `input` into one .xz stream with a single check type of CRC64.
    public static func compress(_ input: [UInt8], preset: UInt32 = defaultPreset) throws -> [UInt8] {
        try compress(segments: [input], settings: Settings(preset: preset))
    }

    /// Compresses the concatenation of `segments` into one .xz stream, without joining them
    /// first, so a part's blob is never copied just to be compressed.
    public static func compress(segments: [[UInt8]], settings: Settings = .parts) throws -> [UInt8] {
        let encoder = try StreamEncoder(settings: settings)
        for segment in segments { try encoder.append(segment) }
        return try encoder.finish()
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
        var total = output.count
        try run(&stream, input: input, action: action) { piece in
            guard piece.count <= limit - total else {
                throw DeltaFormatError.compression("xz stream expands past its declared size of \(limit) bytes")
            }
            total += piece.count
            output.append(contentsOf: piece)
        }
    }

    /// Runs `stream` over `input`, handing each piece of output to `sink` as it comes.
    /// Returns true once the stream has ended.
    @discardableResult
    fileprivate static func run(_ stream: inout lzma_stream, input: [UInt8], action: lzma_action,
                                sink: (UnsafeBufferPointer<UInt8>) throws -> Void) throws -> Bool {
        let chunk = 1 << 16
        var buffer = [UInt8](repeating: 0, count: chunk)
        return try input.withUnsafeBufferPointer { inBuf in
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
                    try buffer.withUnsafeBufferPointer { try sink(UnsafeBufferPointer(rebasing: $0[0..<produced])) }
                }
                switch result {
                case LZMA_OK:
                    // With LZMA_RUN the segment is done once all of it is consumed and no output is pending.
                    if action == LZMA_RUN && stream.avail_in == 0 && stream.avail_out > 0 { return false }
                    continue
                case LZMA_STREAM_END:
                    guard stream.avail_in == 0 else { throw DeltaFormatError.compression("trailing bytes after the xz stream") }
                    return true
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

    /// One .xz stream decoded piece by piece, its output handed on as it comes, so a payload
    /// of any size passes through a 64 KiB buffer. Decoder memory is capped as in `decompress`.
    public final class StreamDecoder {
        private var stream = lzma_stream()
        private var ended = false

        public init(memoryLimit: UInt64 = clientMemoryLimit) throws {
            let status = lzma_stream_decoder(&stream, memoryLimit, 0)
            guard status == LZMA_OK else {
                lzma_end(&stream)
                throw DeltaFormatError.compression("xz decoder init failed (\(status.rawValue))")
            }
        }

        deinit { lzma_end(&stream) }

        /// Decodes `input`, the next bytes of the stream.
        public func feed(_ input: [UInt8], sink: (UnsafeBufferPointer<UInt8>) throws -> Void) throws {
            guard !input.isEmpty else { return }
            guard !ended else { throw DeltaFormatError.compression("trailing bytes after the xz stream") }
            ended = try XZ.run(&stream, input: input, action: LZMA_RUN, sink: sink)
        }

        /// Ends the input; throws if the stream is incomplete.
        public func finish(sink: (UnsafeBufferPointer<UInt8>) throws -> Void) throws {
            if ended { return }
            ended = try XZ.run(&stream, input: [], action: LZMA_FINISH, sink: sink)
            guard ended else { throw DeltaFormatError.compression("xz stream is truncated") }
        }
    }
}
