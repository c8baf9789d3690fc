import DeltaFormat

/// Order and batching of new content objects.
enum ContentPlan {
    /// Modified files first, then new regular files, then symlinks. Within the first two groups
    /// objects are grouped by extension, since similar content (or similar patches) side by
    /// side compresses better: 0.9% smaller on the Debian corpus (docs/benchmarks.md). Ties
    /// are broken by path, so the order is a function of the trees alone.
    static func order(_ items: [PlannedContent]) -> [PlannedContent] {
        items.sorted { a, b in
            let ka = key(a), kb = key(b)
            if ka.group != kb.group { return ka.group < kb.group }
            if ka.ext != kb.ext { return ka.ext < kb.ext }
            if a.path != b.path { return a.path < b.path }
            return a.checksum < b.checksum
        }
    }

    private static func key(_ item: PlannedContent) -> (group: Int, ext: String) {
        if item.header.isSymlink { return (2, "") }
        let group = item.predecessor != nil ? 0 : 1
        let base = item.path.split(separator: "/").last.map(String.init) ?? ""
        guard let dot = base.lastIndex(of: "."), dot != base.startIndex else { return (group, "") }
        return (group, base[base.index(after: dot)...].lowercased())
    }

    /// Cuts the plan into batches that are encoded together: at most 16 objects per job and
    /// about 64 MB of old plus new content, which bounds memory whatever the commit's size.
    static func batches(_ items: [PlannedContent], jobs: Int) -> [[PlannedContent]] {
        var out: [[PlannedContent]] = []
        var current: [PlannedContent] = []
        var bytes: UInt64 = 0
        for item in items {
            let cost = item.header.size * (item.predecessor == nil ? 1 : 2)
            if !current.isEmpty && (current.count >= 16 * max(1, jobs) || bytes + cost > 64_000_000) {
                out.append(current)
                current = []
                bytes = 0
            }
            current.append(item)
            bytes += cost
        }
        if !current.isEmpty { out.append(current) }
        return out
    }
}
