import DeltaFormat
import Foundation
import Glibc

/// Settings for one delta. Defaults are ostree's (format §9.1), sizes in bytes.
public struct DeltaOptions: Sendable {
    /// New regular files whose object stream is larger than this become fallbacks; 0 disables them.
    public var minFallbackSize: UInt64 = 4_000_000
    /// Target payload size of a part: a part is closed before an object whose own size would
    /// take it past this (`PartLayout`).
    public var maxChunkSize: Int = 32_000_000
    /// Embed the parts in the superblock instead of writing part files.
    public var inline = false
    /// Write the superblock here (parts beside it) instead of into the repo's `deltas/`.
    public var filename: String?
    /// Do nothing when the repo already holds the delta.
    public var ifNotExists = false
    /// Superblock timestamp; nil means the TO commit's own timestamp, so output is reproducible.
    public var timestamp: UInt64?
    /// Threads that encode objects, and parts compressed at once (each with its own xz encoder);
    /// by default the CPUs this process may use (`CPUBudget`).
    public var jobs: Int = CPUBudget.current
    public var xzSettings: XZ.Settings = .parts
    /// Encode modified files with bsdiff against their predecessor.
    public var bsdiffEnabled = true
    /// Which bsdiff search makes the patches: with `.both`, each file keeps the patch with the
    /// smaller estimated compressed size (docs/encoding.md).
    public var bsdiffSearch: BsdiffSearch = TestHooks.bsdiffSearch ?? .both
    /// Encode modified files by copying matching chunks of their predecessor.
    public var rollsumEnabled = true
    /// bsdiff is tried only when old + new size is at most this (memory is ~9× the old size).
    public var maxBsdiffSize: UInt64 = 128_000_000
    /// Files bigger than this are never held whole: they are read in pieces as their part is
    /// compressed, and a modified one is matched by rollsum through files on disk, unless
    /// bsdiff takes it (within --max-bsdiff-size).
    public var streamAbove: UInt64 = TestHooks.streamAbove ?? 64 << 20
    public var fallbackPolicy: FallbackPolicy = .auto
    /// Peak memory to stay within, in bytes: concurrency is lowered to fit (`MemoryModel`).
    /// nil: the cgroup's `memory.max`, if any.
    public var memoryLimit: UInt64?
    /// Replay the finished delta against the repository before it becomes visible.
    public var verify = true
    /// Called as the generation moves through its phases; nil for silence.
    public var progress: ProgressHandler?
    /// Seconds without any progress after which the generation is declared stuck; nil: never.
    public var stallTimeout: Double? = DeltaOptions.defaultStallTimeout
    public static let defaultStallTimeout: Double = 600
    /// Called once, with one sentence, when the generation is stuck. It must not return
    /// control to the stuck generation: the default prints `error: …` and exits with status 1.
    /// A part of the delta may remain in the repository's tmp/, which the next run removes.
    public var onStall: @Sendable (String) -> Void = { message in
        FileHandle.standardError.write(Data("error: \(message)\n".utf8))
        exit(1)
    }

    public init() {}
}

/// What to do with a new file above the fallback threshold.
public enum FallbackPolicy: String, Sendable, CaseIterable {
    /// Ship it in a part when xz makes it clearly smaller (under 90%) than the zlib `.filez`
    /// object a client would fetch; otherwise make it a fallback.
    case auto
    /// ostree's rule: always a fallback.
    case always
}

/// What was generated, for the summary line and `--json`.
public struct DeltaReport: Codable, Sendable {
    public var name: String
    public var from: String?
    public var to: String
    /// Where the superblock was written.
    public var superblockPath: String
    public var inline: Bool
    public var parts: Int
    /// Sum of part file sizes (what `show` calls Total Part Size).
    public var partBytes: UInt64
    /// Sum of part payload sizes.
    public var partUncompressedBytes: UInt64
    public var fallbacks: Int
    public var fallbackBytes: UInt64
    public var fallbackUncompressedBytes: UInt64
    /// Objects carried in parts.
    public var objects: Int
    /// Modified files encoded from their predecessor, by encoding.
    public var rollsumObjects: Int = 0
    public var bsdiffObjects: Int = 0
    /// Parts plus fallbacks: `show`'s Total Size.
    public var totalBytes: UInt64
    /// `show`'s Total Uncompressed Size.
    public var totalUncompressedBytes: UInt64
    public var superblockBytes: UInt64
    public var elapsedSeconds: Double
}
