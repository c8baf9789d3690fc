/// Recognises content that is already a compressed stream, by its format's magic number.
enum CompressedStream {
    private static let magics: [[UInt8]] = [
        [0x1F, 0x8B],                          // gzip
        [0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00],  // xz
        [0x28, 0xB5, 0x2F, 0xFD],              // zstd
        [0x42, 0x5A, 0x68],                    // bzip2 ("BZh")
    ]

    static func isCompressed(_ bytes: [UInt8]) -> Bool {
        magics.contains { bytes.starts(with: $0) }
    }
}
