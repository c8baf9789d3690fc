import DeltaCompiler
import DeltaFormat
import DeltaInsight
import DeltaPlanning
import Foundation
import OSTreeRepo

/// `merge-deltas`: deltas built by fan-out CI jobs, read back, then published into one
/// repository with stats and indexes, all under the repository's publish lock.
public struct DeltaMerger {
    public var directories: [String]
    public var repo: String
    public var archive: String

    public init(directories: [String], repo: String, archive: String) {
        self.directories = directories
        self.repo = repo
        self.archive = archive
    }

    /// Merges, and reports each step's line through `output`.
    public func run(output: (String) -> Void) throws {
        var found: [(name: DeltaName, source: String, inspection: DeltaInspection, report: ExplainReport?)] = []
        for dir in directories {
            for (name, source) in try DeltaMerger.deltas(in: dir) {
                let location = DeltaLocation(superblockPath: "\(source)/superblock")
                let inspection: DeltaInspection
                do { inspection = try location.inspect() } catch {
                    throw FactoryError("delta \(name) in \(dir) does not read back: \(plainReason(error))")
                }
                guard inspection.superblock.name == name else {
                    throw FactoryError("\(source) holds delta \(inspection.superblock.name), not the \(name) its path names")
                }
                if let earlier = found.first(where: { $0.name == name }),
                   try !DeltaMerger.sameFiles(earlier.source, source) {
                    throw FactoryError("delta \(name) differs between \(earlier.source) and \(source)")
                }
                // An uploaded explain report is checked here too, before anything is copied.
                let report = try ExplainReports.stored(in: dir, for: name, totalBytes: inspection.totalSize)
                found.append((name, source, inspection, report))
            }
        }
        guard !found.isEmpty else { throw FactoryError("no deltas found in \(directories.joined(separator: ", "))") }

        var stats = DeltaStats()
        for delta in found {
            if let from = delta.name.from { stats[from: from, to: delta.name.to] = Publishing.statsEntry(delta.inspection) }
        }
        // Earlier stats files are read before anything is copied, so a damaged one stops
        // the merge with the repository untouched.
        let files = try Publishing.mergedStats(stats, archive: archive)
        let target = try RepositoryAccess.openOrCreate(repo)
        // One lock over copies, indexes and stats: another merge or ci-job waits its turn.
        let lock = try Publishing.lock(target)
        var copied = 0
        for delta in found {
            if try Publishing.publishCopy(of: delta.source, name: delta.name, into: target, holding: lock) { copied += 1 }
        }
        output("Merged \(Set(found.map(\.name)).count) deltas into \(repo) (\(copied) copied, the rest already there)")
        for name in Set(found.map(\.name)).sorted(by: { $0.description < $1.description }) {
            try explain(name, uploaded: found.first { $0.name == name && $0.report != nil }?.report, in: target, output: output)
        }
        try Publishing.finish(target, stats: files, archive: archive, lock: lock, output: output)
    }

    /// The explain report of a merged delta: made here when the repository holds its
    /// commits, else the one a fan-out job uploaded in `explain/` beside its `deltas/`.
    private func explain(_ name: DeltaName, uploaded: ExplainReport?, in target: Repository,
                         output: (String) -> Void) throws {
        if try ([name.to] + (name.from.map { [$0] } ?? [])).allSatisfy({ try target.hasCommit($0) }) {
            output("Explained \(name) in \(try ExplainReports.write(name, repo: target, archive: archive))")
            return
        }
        if let uploaded {
            output("Explained \(name) in \(try ExplainReports.store(uploaded, for: name, archive: archive)) (uploaded)")
            return
        }
        output("No explain report for \(name): \(repo) lacks its commits, and no input has explain/\(name).json")
    }

    /// Every `deltas/XX/REST` directory with a superblock under `dir` (or `dir/deltas`).
    public static func deltas(in dir: String) throws -> [(DeltaName, String)] {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
            throw FactoryError("\(dir) is not a directory")
        }
        let root = fm.fileExists(atPath: dir + "/deltas") ? dir + "/deltas" : dir
        var result: [(DeltaName, String)] = []
        let prefixes: [String]
        do { prefixes = try fm.contentsOfDirectory(atPath: root).sorted() } catch {
            throw FactoryError("cannot read \(root): \(plainReason(error))", causedBy: error)
        }
        for prefix in prefixes where prefix.count == 2 {
            let sub = "\(root)/\(prefix)"
            for rest in (try? fm.contentsOfDirectory(atPath: sub).sorted()) ?? [] {
                guard let name = DeltaName(deltasSubpath: "\(prefix)/\(rest)"),
                      fm.fileExists(atPath: "\(sub)/\(rest)/superblock") else { continue }
                // The copy lands at the name's canonical path; a second spelling of the same
                // checksum would publish files other than the ones read back here.
                guard name.relativePath == "deltas/\(prefix)/\(rest)" else {
                    throw FactoryError("\(sub)/\(rest) is not the canonical directory name of delta \(name)")
                }
                try requirePlainFiles(sub, "\(sub)/\(rest)")
                result.append((name, "\(sub)/\(rest)"))
            }
        }
        return result
    }

    /// Fan-out uploads are untrusted: a symlink would be read (or copied) from outside the
    /// upload, and a FIFO or device would hang or flood the read-back. A delta directory
    /// holds only a superblock and part files `0`, `1`, … as regular files.
    static func requirePlainFiles(_ prefixDir: String, _ dir: String) throws {
        func kind(_ path: String) -> mode_t? {
            var st = stat()
            return lstat(path, &st) == 0 ? st.st_mode & S_IFMT : nil
        }
        for path in [prefixDir, dir] where kind(path) != S_IFDIR {
            throw FactoryError("\(path) is a symlink or not a directory; a delta must be a plain directory")
        }
        let entries: [String]
        do { entries = try FileManager.default.contentsOfDirectory(atPath: dir).sorted() } catch {
            throw FactoryError("cannot read \(dir): \(plainReason(error))", causedBy: error)
        }
        for entry in entries {
            let isPart = entry.allSatisfy { $0.isASCII && $0.isNumber } && Int(entry).map(String.init) == entry
            guard entry == "superblock" || isPart else {
                throw FactoryError("\(dir)/\(entry) is not a superblock or part file; refusing to merge \(dir)")
            }
            guard kind("\(dir)/\(entry)") == S_IFREG else {
                throw FactoryError("\(dir)/\(entry) is a symlink or special file, not a regular file")
            }
        }
    }

    /// Whether two delta directories hold the same file names with the same bytes.
    public static func sameFiles(_ a: String, _ b: String) throws -> Bool {
        let fm = FileManager.default
        func list(_ dir: String) throws -> [String] {
            do { return try fm.contentsOfDirectory(atPath: dir).sorted() } catch {
                throw FactoryError("cannot read \(dir): \(plainReason(error))", causedBy: error)
            }
        }
        let names = try list(a)
        guard names == (try list(b)) else { return false }
        return names.allSatisfy { fm.contentsEqual(atPath: "\(a)/\($0)", andPath: "\(b)/\($0)") }
    }
}
