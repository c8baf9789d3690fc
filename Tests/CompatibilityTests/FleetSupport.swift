import DeltaFormat
import Foundation
import XCTest

/// Repo tarballs of the shared test repository, one per commit, as a factory's CI builds
/// leave them: v1 with the repository at the tarball root (gzip), v2 in `ostree_repo/` (gzip),
/// v3 in `ostree_repo/` (bzip2, as Foundries ships them). Built once per process.
final class FleetTarballs {
    let dir: String
    let repo: TestRepo

    nonisolated(unsafe) private static var cached: FleetTarballs?  // guarded by `lock`
    private static let lock = NSLock()

    static func shared() throws -> FleetTarballs {
        lock.lock()
        defer { lock.unlock() }
        if let cached { return cached }
        let made = try FleetTarballs()
        cached = made
        return made
    }

    private init() throws {
        repo = try TestRepo.shared()
        dir = try Harness.makeTemporaryDirectory()
        for (name, commit) in [("v1", repo.v1), ("v2", repo.v2), ("v3", repo.v3)] {
            let single = "\(dir)/build-\(name)/ostree_repo"
            try FileManager.default.createDirectory(atPath: "\(dir)/build-\(name)", withIntermediateDirectories: true)
            try Harness.ostree(single, "init", "--mode=archive")
            try Harness.ostree(single, "pull-local", repo.path, commit)
            switch name {
            case "v1": try Harness.check(["tar", "-czf", "\(dir)/v1.tar", "-C", single, "."])
            case "v2": try Harness.check(["tar", "-czf", "\(dir)/v2.tar", "-C", "\(dir)/build-\(name)", "ostree_repo"])
            default: try Harness.check(["tar", "-cjf", "\(dir)/v3.tar", "-C", "\(dir)/build-\(name)", "ostree_repo"])
            }
            try FileManager.default.removeItem(atPath: "\(dir)/build-\(name)")
        }
    }

    func fileURL(_ version: String) -> String { "file://\(dir)/\(version).tar" }

    /// A targets.json with one OSTree Target per test commit (versions 1-3, hardware ID qemu).
    func targetsJSON() -> String {
        let entries = [(1, repo.v1), (2, repo.v2), (3, repo.v3)].map { version, commit in
            """
            "qemu-lmp-\(version)": {"hashes": {"sha256": "\(commit)"}, "length": 0,
              "custom": {"name": "qemu-lmp", "version": "\(version)", "hardwareIds": ["qemu"],
                         "targetFormat": "OSTREE", "tags": ["main"]}}
            """
        }
        return "{\"signed\": {\"_type\": \"Targets\", \"targets\": {\(entries.joined(separator: ","))}}}"
    }
}

enum Fleet {
    static func write(_ text: String, to path: String) throws {
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }

    static func deltasFile(to: (String, String), froms: [(String, String?)]) -> String {
        let list = froms.map { "[\"\($0.0)\", \($0.1.map { "\"\($0)\"" } ?? "null")]" }.joined(separator: ", ")
        return "[{\"to\": [\"\(to.0)\", \"\(to.1)\"], \"froms\": [\(list)]}]"
    }

    /// `{"<to>":{"<from>":{"size":N,"u_size":M}}}` from `ostree static-delta show`'s last two lines.
    static func expectedStats(repo: String, to: String, froms: [String]) throws -> String {
        var entries: [String] = []
        for from in froms.sorted() {
            let lines = try Stock.showTotals(repo: repo, delta: "\(from)-\(to)")
            func number(_ line: String, _ label: String) throws -> String {
                XCTAssertTrue(line.hasPrefix(label), line)
                return String(line.dropFirst(label.count).split(separator: " ")[0])
            }
            let size = try number(lines[0], "Total Size: ")
            let usize = try number(lines[1], "Total Uncompressed Size: ")
            entries.append("\"\(from)\":{\"size\":\(size),\"u_size\":\(usize)}")
        }
        return "{\"\(to)\":{\(entries.joined(separator: ","))}}"
    }

    static func sha256(_ path: String) throws -> String {
        String(try Harness.check(["sha256sum", path]).prefix(64))
    }

    static func fileSize(_ path: String) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? -1
    }

    static func relativePath(_ from: String, _ to: String) -> String {
        DeltaName("\(from)-\(to)")!.relativePath
    }

    /// A bare-user repository holding `from`, pulling `to` with deltas required from `url`.
    static func devicePull(url: String, from: String, to: String, source: TestRepo,
                           file: StaticString = #filePath, line: UInt = #line) throws {
        let work = try Harness.makeTemporaryDirectory()
        let client = work + "/client"
        try Harness.ostree(client, "init", "--mode=bare-user")
        try Harness.ostree(client, "pull-local", source.path, from)
        try Harness.ostree(client, "remote", "add", "--no-gpg-verify", "origin", url)
        try Harness.ostree(client, "pull", "--require-static-deltas", "origin", to, file: file, line: line)
        try Stock.assertHolds(client: client, source: source.path, commit: to, workdir: work, file: file, line: line)
        try? FileManager.default.removeItem(atPath: work)
    }
}
