/// What an object is, for `explain`'s "bytes by kind": decided from its path and the first
/// bytes of its content, never from its size or how it was encoded.
public enum ObjectKind: String, Codable, CaseIterable, Sendable {
    case kernelImage = "kernel image"
    case kernelModule = "kernel module"
    case elf = "ELF executable or library"
    case compressedStream = "compressed stream"
    case text
    case other
    /// dirtree, dirmeta and commit objects: a separate kind, so that a tree with many small
    /// directories shows as such instead of inflating "other".
    case metadata = "ostree metadata"

    /// How many leading content bytes `classify` needs to see.
    public static let headSize = 4096

    public static func classify(path: String, head: [UInt8], isSymlink: Bool = false) -> ObjectKind {
        if isSymlink { return .other }
        let name = path.split(separator: "/").last.map(String.init) ?? path
        // A bzImage carries "HdrS" at 0x202 (the x86 boot protocol); other architectures'
        // images are recognised by ostree's and distributions' file names.
        if name.hasPrefix("vmlinuz") || name.hasPrefix("bzImage") || name == "vmlinux" || name.hasPrefix("vmlinux-")
            || (head.count >= 0x206 && Array(head[0x202..<0x206]) == Array("HdrS".utf8)) {
            return .kernelImage
        }
        if isKernelModuleName(name) { return .kernelModule }
        if head.starts(with: [0x7F, 0x45, 0x4C, 0x46]) { return .elf }
        if StreamFormat(magicOf: head) != nil { return .compressedStream }
        if isText(head) { return .text }
        return .other
    }

    /// `foo.ko`, or a module compressed as the kernel's build does it (`.ko.xz`, `.ko.gz`, `.ko.zst`).
    static func isKernelModuleName(_ name: String) -> Bool {
        for suffix in [".ko", ".ko.xz", ".ko.gz", ".ko.zst", ".ko.bz2"] where name.hasSuffix(suffix) && name.count > suffix.count {
            return true
        }
        return false
    }

    /// Text: no NUL, valid UTF-8 (a character cut at the end of the sample aside), and
    /// control characters other than whitespace under 1%.
    static func isText(_ head: [UInt8]) -> Bool {
        guard !head.isEmpty, !head.contains(0) else { return false }
        var sample = head[...]
        // Drop an incomplete UTF-8 sequence at the end of a cut sample.
        var back = 0
        while back < 3, let last = sample.last, last & 0xC0 == 0x80 { sample = sample.dropLast(); back += 1 }
        if let last = sample.last, last >= 0xC0 { sample = sample.dropLast() }
        guard String(validating: sample, as: UTF8.self) != nil else { return false }
        let controls = sample.filter { ($0 < 0x20 && ![9, 10, 12, 13].contains($0)) || $0 == 0x7F }.count
        return controls * 100 < max(1, sample.count)
    }
}

/// A compressed-stream format, by its magic number.
public enum StreamFormat: String, Codable, CaseIterable, Sendable {
    case gzip, xz, zstd, bzip2

    public init?(magicOf head: [UInt8]) {
        if head.starts(with: [0x1F, 0x8B]) { self = .gzip }
        else if head.starts(with: [0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00]) { self = .xz }
        else if head.starts(with: [0x28, 0xB5, 0x2F, 0xFD]) { self = .zstd }
        else if head.starts(with: [0x42, 0x5A, 0x68]) { self = .bzip2 }
        else { return nil }
    }

    /// The usual file suffix, for the advice's wording.
    public var suffix: String {
        switch self {
        case .gzip: return ".gz"
        case .xz: return ".xz"
        case .zstd: return ".zst"
        case .bzip2: return ".bz2"
        }
    }
}
