import Foundation

/// The files of an archive repository that clients read, in the order they may appear on a
/// server: each file only after every file it names. Paths are relative to the repository;
/// stats files are published as `delta-stats/<to>.json`.
struct PublishOrder {
    var repo: String
    var archive: String?

    /// (path in DEST, source file) pairs, in publish order.
    func files() throws -> [(String, String)] {
        var out: [(String, String)] = []
        func add(_ rel: String) { out.append((rel, "\(repo)/\(rel)")) }
        add("config")
        // A commit only after everything it reaches: file contents, then directory metadata,
        // then directory trees, then commits; `ostree fsck` and clients walk down from commits.
        let objects = try regularFiles(under: "objects")
        for rel in objects.sorted(by: { (objectRank($0), $0) < (objectRank($1), $1) }) { add(rel) }
        for rel in try deltaFiles() { add(rel) }
        for rel in try regularFiles(under: "delta-indexes") { add(rel) }
        if let archive, FileManager.default.fileExists(atPath: archive) {
            let names: [String]
            do { names = try FileManager.default.contentsOfDirectory(atPath: archive) } catch {
                throw FactoryError("cannot read \(archive): \(plainReason(error))", causedBy: error)
            }
            for name in names.sorted() where name.hasSuffix(".json") && isRegular("\(archive)/\(name)") {
                out.append(("delta-stats/\(name)", "\(archive)/\(name)"))
            }
        }
        for rel in try regularFiles(under: "refs") { add(rel) }
        for name in ["summary", "summary.sig"] where isRegular("\(repo)/\(name)") { add(name) }
        return out
    }

    private func objectRank(_ path: String) -> Int {
        switch (path as NSString).pathExtension {
        case "filez", "file": return 0
        case "dirmeta": return 1
        case "dirtree": return 2
        case "commitmeta": return 3
        case "commit": return 4
        default: return 5
        }
    }

    /// Each delta's part files in number order, then its superblock.
    private func deltaFiles() throws -> [String] {
        var out: [String] = []
        let root = "\(repo)/deltas"
        for prefix in try names(root) where isDirectory("\(root)/\(prefix)") {
            for rest in try names("\(root)/\(prefix)") where isDirectory("\(root)/\(prefix)/\(rest)") {
                let dir = "deltas/\(prefix)/\(rest)"
                let files = try names("\(repo)/\(dir)")
                guard files.contains("superblock") else { continue }  // not a delta (yet)
                let parts = files.compactMap { name -> Int? in
                    guard let n = Int(name), String(n) == name, n >= 0 else { return nil }
                    return n
                }.sorted()
                out += parts.map { "\(dir)/\($0)" } + ["\(dir)/superblock"]
            }
        }
        return out
    }

    /// Regular files under `top`, sorted by path; none when `top` does not exist.
    private func regularFiles(under top: String) throws -> [String] {
        let root = "\(repo)/\(top)"
        guard isDirectory(root) else { return [] }
        guard let walker = FileManager.default.enumerator(atPath: root) else { return [] }
        var out: [String] = []
        while let rel = walker.nextObject() as? String {
            let name = (rel as NSString).lastPathComponent
            if name.hasPrefix(".") { continue }  // temporary files of a writer
            if isRegular("\(root)/\(rel)") { out.append("\(top)/\(rel)") }
        }
        return out.sorted()
    }

    private func names(_ dir: String) throws -> [String] {
        do { return try FileManager.default.contentsOfDirectory(atPath: dir).sorted() } catch {
            if !FileManager.default.fileExists(atPath: dir) { return [] }
            throw FactoryError("cannot read \(dir): \(plainReason(error))", causedBy: error)
        }
    }

    private func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0 && st.st_mode & S_IFMT == S_IFDIR
    }

    private func isRegular(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0 && st.st_mode & S_IFMT == S_IFREG
    }
}
