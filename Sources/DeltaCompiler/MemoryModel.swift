import CLinuxShim
import DeltaFormat
import Foundation

/// What a generation needs in memory, from its settings and the sizes its plan already
/// knows, before any object is read (docs/design.md, "Memory"). Every term is bounded by a
/// setting: big files are streamed (`streamAbove`), windows and backlogs are fixed, and
/// bsdiff takes only pairs within `--max-bsdiff-size`.
public struct MemoryModel: Sendable {
    /// The process before any work: code, libostree, GLib, the runtime.
    public static let base: UInt64 = 48 << 20
    /// Per object reachable from TO and FROM: names in sets, paths, plan entries, the
    /// metadata replayed by verify. Measured: 130 MB more for 100,000 small files than for
    /// 10,000, about 0.7 kB per object of the two trees (docs/benchmarks.md).
    public static let perObject: UInt64 = 1_000
    /// Per job besides its xz encoder: bytes queued for it (8 MiB), its encoding window
    /// (32 MB of content), and the replay of its part (a 48 MiB payload buffer and a 48 MiB
    /// read source).
    public static let perJobBuffers: UInt64 = (8 << 20) + 32_000_000 + (96 << 20)

    public var xzEncoder: UInt64
    /// The biggest bsdiff of the plan: suffix array, old, new and patch.
    public var largestBsdiff: UInt64
    public var objects: Int

    public init(options: DeltaOptions, largestBsdiff: (old: UInt64, new: UInt64)?, objects: Int) {
        xzEncoder = options.xzSettings.encoderMemory
        self.largestBsdiff = largestBsdiff.map {
            UInt64(Bsdiff.workingMemory(oldSize: Int($0.old), newSize: Int($0.new))) + $0.new
        } ?? 0
        self.objects = objects
    }

    /// Peak bytes with `jobs` jobs: each may hold an xz encoder, its buffers and a bsdiff.
    public func estimate(jobs: Int) -> UInt64 {
        MemoryModel.base + UInt64(objects) * MemoryModel.perObject
            + UInt64(jobs) * (xzEncoder + MemoryModel.perJobBuffers + largestBsdiff)
    }

    /// The most jobs, up to `wanted`, that fit in `limit`; nil if not even one does.
    public func jobs(fitting limit: UInt64, wanted: Int) -> Int? {
        var jobs = wanted
        while jobs >= 1 {
            if estimate(jobs: jobs) <= limit { return jobs }
            jobs -= 1
        }
        return nil
    }

    /// The tightest `memory.max` of this process's cgroup and those above it; nil if none.
    public static func cgroupLimit(root: String = "/sys/fs/cgroup", selfCgroup: String = "/proc/self/cgroup") -> UInt64? {
        CPUBudget.cgroupValues(file: "memory.max", root: root, selfCgroup: selfCgroup)
            .compactMap { UInt64($0) }.min()
    }
}
