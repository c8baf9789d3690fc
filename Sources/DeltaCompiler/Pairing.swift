import DeltaFormat
import OSTreeRepo

/// Finds the old file a new file most likely evolved from (format §9.3 describes ostree's
/// rule; ours finds more and better predecessors).
///
/// Rules, in order; the first rule with any usable candidate decides:
/// 1. the same path;
/// 2. the same path once every run of digits is treated as equal ("versioned" names and
///    directories: `libfoo.so.1.2.3` → `libfoo.so.1.2.4`, `modules/6.1.0-30-amd64/…` →
///    `modules/6.1.0-35-amd64/…`, `python3.11` → `python3.12`);
/// 3. the same basename, digits treated the same way, anywhere in the tree (moved files),
///    within ±30% of the size, as ostree requires for its basename match.
/// Among several candidates of one rule the closest in size wins, then the lowest checksum.
/// A candidate must be a regular, world-readable file, so that bare-user clients can read it.
public struct PredecessorIndex {
    private var byPath: [String: Checksum] = [:]
    private var byVersionedPath: [String: [Checksum]] = [:]
    private var byVersionedBasename: [String: [Checksum]] = [:]

    public init(files: [(path: String, checksum: Checksum)]) {
        for (path, checksum) in files {
            byPath[path] = checksum
            byVersionedPath[PredecessorIndex.versionless(path), default: []].append(checksum)
            byVersionedBasename[PredecessorIndex.versionless(PredecessorIndex.basename(path)), default: []].append(checksum)
        }
    }

    /// The predecessor of a new regular file of `size` bytes at `path`, or nil.
    /// `header` returns an old object's header (nil if unreadable).
    public func predecessor(path: String, size: UInt64, header: (Checksum) -> ContentHeader?) -> Checksum? {
        guard size > 0 else { return nil }
        func usable(_ c: Checksum) -> ContentHeader? {
            guard let h = header(c), !h.isSymlink, h.mode & 0o170000 == 0o100000, h.mode & 0o004 != 0 else { return nil }
            return h
        }
        func closest(_ candidates: [Checksum], window: Bool) -> Checksum? {
            var best: (distance: UInt64, checksum: Checksum)? = nil
            for c in Set(candidates) {
                guard let h = usable(c), h.size > 0 else { continue }
                if window && (Double(h.size) < Double(size) * 0.7 || Double(h.size) > Double(size) * 1.3) { continue }
                let distance = h.size > size ? h.size - size : size - h.size
                if best == nil || distance < best!.distance || (distance == best!.distance && c < best!.checksum) {
                    best = (distance, c)
                }
            }
            return best?.checksum
        }
        if let same = byPath[path], let _ = usable(same) { return same }
        if let c = closest(byVersionedPath[PredecessorIndex.versionless(path)] ?? [], window: false) { return c }
        let base = PredecessorIndex.versionless(PredecessorIndex.basename(path))
        return closest(byVersionedBasename[base] ?? [], window: true)
    }

    /// `path` with every run of ASCII digits replaced by `#`.
    static func versionless(_ path: String) -> String {
        var out = ""
        out.reserveCapacity(path.utf8.count)
        var inDigits = false
        for ch in path.unicodeScalars {
            if ch.value >= 48 && ch.value <= 57 {
                if !inDigits { out.append("#") }
                inDigits = true
            } else {
                out.unicodeScalars.append(ch)
                inDigits = false
            }
        }
        return out
    }

    static func basename(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }
}
