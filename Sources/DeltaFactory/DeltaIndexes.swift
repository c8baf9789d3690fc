import DeltaCompiler
import DeltaFormat
import Foundation

/// The delta index files, `delta-indexes/XX/REST.index`, written by us so their bytes depend
/// only on the deltas present, never on the order they were made in.
///
/// The format is libostree's (`ostree_repo_static_delta_reindex`): an `a{sv}` with one key,
/// `ostree.static-deltas`, whose value is an `a{sv}` from delta name (`FROM-TO` in hex, or
/// `TO` for a from-scratch delta) to the SHA-256 of its superblock file as `ay`. libostree
/// builds that inner dictionary in a hash table, so its entry order follows the hash table's
/// history; here the entries are sorted by name and serialized in GVariant normal form.
/// Clients look entries up by key, so the order changes nothing for them.
public enum DeltaIndexes {
    /// The index bytes for target `to` listing `deltas` (each with its superblock digest).
    public static func indexBytes(_ deltas: [(name: DeltaName, digest: Checksum)]) -> [UInt8] {
        let entries = deltas.map { ($0.name.description, $0.digest) }.sorted { $0.0 < $1.0 }
        let inner = GVariantValue.vardict(entries.map { ($0.0, GVariantValue.bytes($0.1.bytes)) })
        return GVariantValue.vardict([("ostree.static-deltas", inner)]).serialized()
    }

    /// Rewrites every index of the repository at `repoPath` from its `deltas/`, and removes
    /// indexes whose target no delta reaches any more. A file already holding the right bytes
    /// is left alone; others are replaced atomically. Returns the paths written or removed.
    /// `excluding`: deltas to leave out although present, because they are about to be replaced.
    @discardableResult
    public static func write(repoPath: String, excluding: Set<DeltaName> = []) throws -> [String] {
        var byTarget: [Checksum: [(name: DeltaName, digest: Checksum)]] = [:]
        for name in try deltaNames(repoPath) where !excluding.contains(name) {
            let superblock = "\(repoPath)/\(name.relativePath)/superblock"
            let bytes: Data
            do { bytes = try readInput(superblock, limit: 1 << 30) } catch {
                throw FactoryError("cannot read \(superblock): \(plainReason(error))", causedBy: error, fallback: .storage)
            }
            byTarget[name.to, default: []].append((name, SHA256Hasher.digest(Array(bytes))))
        }
        var changed: [String] = []
        for (to, deltas) in byTarget.sorted(by: { $0.key < $1.key }) {
            let path = "\(repoPath)/\(DeltaName(from: nil, to: to).indexRelativePath)"
            let bytes = indexBytes(deltas)
            if let old = try? readInput(path, limit: 1 << 30), Array(old) == bytes { continue }
            try FactoryFiles.createDirectory((path as NSString).deletingLastPathComponent, what: "the delta index directory")
            try FactoryFiles.writeAtomically(bytes, to: path)
            changed.append(path)
        }
        for (to, path) in existingIndexes(repoPath) where byTarget[to] == nil {
            if unlink(path) == 0 { changed.append(path) }
        }
        return changed
    }

    /// Deltas with a superblock under `deltas/`, as libostree lists them.
    static func deltaNames(_ repoPath: String) throws -> [DeltaName] {
        let fm = FileManager.default
        let root = "\(repoPath)/deltas"
        var names: [DeltaName] = []
        for prefix in ((try? fm.contentsOfDirectory(atPath: root)) ?? []).sorted() where prefix.count == 2 {
            for rest in ((try? fm.contentsOfDirectory(atPath: "\(root)/\(prefix)")) ?? []).sorted() {
                guard let name = DeltaName(deltasSubpath: "\(prefix)/\(rest)"),
                      fm.fileExists(atPath: "\(root)/\(prefix)/\(rest)/superblock") else { continue }
                names.append(name)
            }
        }
        return names
    }

    /// The index files now present, by target commit.
    static func existingIndexes(_ repoPath: String) -> [(Checksum, String)] {
        let fm = FileManager.default
        let root = "\(repoPath)/delta-indexes"
        var out: [(Checksum, String)] = []
        for prefix in ((try? fm.contentsOfDirectory(atPath: root)) ?? []).sorted() where prefix.count == 2 {
            for file in ((try? fm.contentsOfDirectory(atPath: "\(root)/\(prefix)")) ?? []).sorted()
            where file.hasSuffix(".index") {
                if let to = ModifiedBase64.decode(prefix + file.dropLast(6)) { out.append((to, "\(root)/\(prefix)/\(file)")) }
            }
        }
        return out
    }
}
