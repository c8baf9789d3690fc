import ArgumentParser
import DeltaCompiler
import DeltaFormat
import DeltaPlanning
import Foundation
import OSTreeRepo

struct MergeDeltas: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge-deltas",
        abstract: "Merge deltas built by fan-out CI jobs into one repository, with stats and indexes.",
        discussion: """
            Each DIR is what one fan-out job uploaded: a repository (its deltas/ is read), or \
            a deltas/ directory itself. Every delta in it is read back first (part checksums, \
            decompression, an op dry-run); one that fails stops the merge before anything is \
            copied. Each delta is then copied into the repository's tmp/ and renamed into \
            deltas/. A delta the repository already has with the same bytes is left alone; \
            one with other bytes is replaced.

            Then, as `deltagen ci-job` does: ARCHIVE/<to>.json is merged with the new stats \
            (canonical JSON, earlier froms kept), core.indexed-deltas=true is set, and the \
            summary and every delta index are rewritten through libostree. The repository \
            does not need the commits' objects: the indexes and summary only read superblocks.

            The repository is created (archive mode) if it does not exist. The stats equal \
            those ci-job writes for the same deltas, byte for byte.
            """)

    @Argument(help: ArgumentHelp("Directories holding deltas from fan-out jobs.", valueName: "DIR"))
    var directories: [String]

    @Option(help: ArgumentHelp("The repository to merge into.", valueName: "PATH"))
    var repo: String

    @Option(help: ArgumentHelp("Where the stats files go (default: the current directory's archive/).", valueName: "ARCHIVE"))
    var archive: String = "archive"

    func validate() throws {
        if directories.isEmpty { throw ValidationError("Give at least one DIR") }
    }

    func run() throws {
        try reportingErrors {
            var found: [(name: DeltaName, source: String, inspection: DeltaInspection)] = []
            for dir in directories {
                for (name, source) in try MergeDeltas.deltas(in: dir) {
                    let location = DeltaLocation(superblockPath: "\(source)/superblock")
                    let inspection: DeltaInspection
                    do { inspection = try location.inspect() } catch {
                        throw CLIError("delta \(name) in \(dir) does not read back: \(plainReason(error))")
                    }
                    guard inspection.superblock.name == name else {
                        throw CLIError("\(source) holds delta \(inspection.superblock.name), not the \(name) its path names")
                    }
                    if let earlier = found.first(where: { $0.name == name }),
                       try !MergeDeltas.sameFiles(earlier.source, source) {
                        throw CLIError("delta \(name) differs between \(earlier.source) and \(source)")
                    }
                    found.append((name, source, inspection))
                }
            }
            guard !found.isEmpty else { throw CLIError("no deltas found in \(directories.joined(separator: ", "))") }

            var stats = DeltaStats()
            for delta in found {
                if let from = delta.name.from { stats[from: from, to: delta.name.to] = Publishing.statsEntry(delta.inspection) }
            }
            // Earlier stats files are read before anything is copied, so a damaged one stops
            // the merge with the repository untouched.
            let files = try Publishing.mergedStats(stats, archive: archive)
            let target = try Publishing.openOrCreate(repo)
            var copied = 0
            for delta in found {
                if try copy(delta.source, name: delta.name, into: target) { copied += 1 }
            }
            print("Merged \(Set(found.map(\.name)).count) deltas into \(repo) (\(copied) copied, the rest already there)")
            try Publishing.refreshIndexes(target)
            try Publishing.writeStats(files, archive: archive)
        }
    }

    /// Every `deltas/XX/REST` directory with a superblock under `dir` (or `dir/deltas`).
    static func deltas(in dir: String) throws -> [(DeltaName, String)] {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
            throw CLIError("\(dir) is not a directory")
        }
        let root = fm.fileExists(atPath: dir + "/deltas") ? dir + "/deltas" : dir
        var result: [(DeltaName, String)] = []
        let prefixes: [String]
        do { prefixes = try fm.contentsOfDirectory(atPath: root).sorted() } catch {
            throw CLIError("cannot read \(root): \(plainReason(error))")
        }
        for prefix in prefixes where prefix.count == 2 {
            let sub = "\(root)/\(prefix)"
            for rest in (try? fm.contentsOfDirectory(atPath: sub).sorted()) ?? [] {
                guard let name = DeltaName(deltasSubpath: "\(prefix)/\(rest)"),
                      fm.fileExists(atPath: "\(sub)/\(rest)/superblock") else { continue }
                // The copy lands at the name's canonical path; a second spelling of the same
                // checksum would publish files other than the ones read back here.
                guard name.relativePath == "deltas/\(prefix)/\(rest)" else {
                    throw CLIError("\(sub)/\(rest) is not the canonical directory name of delta \(name)")
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
            throw CLIError("\(path) is a symlink or not a directory; a delta must be a plain directory")
        }
        let entries: [String]
        do { entries = try FileManager.default.contentsOfDirectory(atPath: dir).sorted() } catch {
            throw CLIError("cannot read \(dir): \(plainReason(error))")
        }
        for entry in entries {
            let isPart = entry.allSatisfy { $0.isASCII && $0.isNumber } && Int(entry).map(String.init) == entry
            guard entry == "superblock" || isPart else {
                throw CLIError("\(dir)/\(entry) is not a superblock or part file; refusing to merge \(dir)")
            }
            guard kind("\(dir)/\(entry)") == S_IFREG else {
                throw CLIError("\(dir)/\(entry) is a symlink or special file, not a regular file")
            }
        }
    }

    /// Copies a delta directory in through the repository's tmp/, so deltas/ only ever holds
    /// whole deltas. Returns false when the repository already had identical files.
    private func copy(_ source: String, name: DeltaName, into repo: Repository) throws -> Bool {
        let destination = "\(repo.path)/\(name.relativePath)"
        let fm = FileManager.default
        if fm.fileExists(atPath: destination), try MergeDeltas.sameFiles(source, destination) { return false }
        let staging = try Publishing.makeTemporaryDirectory(in: "\(repo.path)/tmp", prefix: "deltagen-merge")
        defer { try? fm.removeItem(atPath: staging) }
        let staged = staging + "/delta"
        do {
            try fm.createDirectory(atPath: staged, withIntermediateDirectories: false)
            // The superblock last, as the generator writes it, so a partial copy never looks whole.
            let files = try fm.contentsOfDirectory(atPath: source).filter { $0 != "superblock" }.sorted() + ["superblock"]
            for file in files { try fm.copyItem(atPath: "\(source)/\(file)", toPath: "\(staged)/\(file)") }
            try fm.createDirectory(atPath: (destination as NSString).deletingLastPathComponent,
                                   withIntermediateDirectories: true)
            if fm.fileExists(atPath: destination) {
                // Two renames, not an exchange: a reader may miss the delta for an instant,
                // but never sees a mix of old and new parts.
                try fm.moveItem(atPath: destination, toPath: staging + "/old")
            }
            try fm.moveItem(atPath: staged, toPath: destination)
        } catch let e as CLIError {
            throw e
        } catch {
            throw CLIError("copying \(source) to \(destination): \(plainReason(error))")
        }
        return true
    }

    static func sameFiles(_ a: String, _ b: String) throws -> Bool {
        let fm = FileManager.default
        func list(_ dir: String) throws -> [String] {
            do { return try fm.contentsOfDirectory(atPath: dir).sorted() } catch {
                throw CLIError("cannot read \(dir): \(plainReason(error))")
            }
        }
        let names = try list(a)
        guard names == (try list(b)) else { return false }
        return names.allSatisfy { fm.contentsEqual(atPath: "\(a)/\($0)", andPath: "\(b)/\($0)") }
    }
}
