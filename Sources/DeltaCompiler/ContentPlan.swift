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

    /// The mode and xattr tables every part of the delta carries: each distinct value among the
    /// planned objects, in plan order.
    static func tables(_ items: [PlannedContent]) -> (modes: [FileMode], xattrSets: [[UInt8]]) {
        var modes: [FileMode] = [], xattrSets: [[UInt8]] = []
        var seenModes = Set<FileMode>(), seenXattrs = Set<[UInt8]>()
        for item in items {
            if seenModes.insert(item.header.fileMode).inserted { modes.append(item.header.fileMode) }
            if seenXattrs.insert(item.header.xattrs).inserted { xattrSets.append(item.header.xattrs) }
        }
        return (modes, xattrSets)
    }
}
