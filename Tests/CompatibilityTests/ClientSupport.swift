import DeltaCompiler
import DeltaFormat
import Foundation
import XCTest

/// `Scripts/logging-httpd.py` on 127.0.0.1: serves a directory and logs status, file bytes,
/// time and path of every request. Stopped when the object goes away.
final class LoggingHTTPServer {
    struct Request: Equatable {
        var status: Int
        var bytes: Int
        var path: String
    }

    let logPath: String
    private let server: LoopbackProcess

    init(directory: String) throws {
        logPath = try Harness.makeTemporaryDirectory() + "/requests.log"
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        server = try LoopbackProcess(["python3", "-u", Harness.packageRoot + "/Scripts/logging-httpd.py", directory, logPath,
                                      "--lifetime", "1800"])
    }

    var port: Int { server.port }
    var url: String { server.url }

    /// Every request answered so far, in the order the answers finished.
    func requests() -> [Request] {
        let log = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        return log.split(separator: "\n").compactMap { line in
            let f = line.split(separator: "\t", maxSplits: 3)
            guard f.count == 4, let status = Int(f[0]), let bytes = Int(f[1]) else { return nil }
            return Request(status: status, bytes: bytes, path: String(f[3]))
        }
    }

    /// Successful fetches of loose content objects (`.filez` in archive repos, `.file` otherwise).
    func looseContentFetches() -> [String] {
        requests().filter { $0.status == 200 && ($0.path.hasSuffix(".filez") || $0.path.hasSuffix(".file")) }.map(\.path)
    }
}

/// Debian 13's ostree (2025.2), run through `chroot` in the root `Scripts/test.sh` builds with
/// debootstrap and passes in `DELTAGEN_TRIXIE_ROOT`, with /proc mounted inside it.
/// Repositories the chrooted ostree touches live under the root's /tmp, so each has a host
/// path (for deltagen, diff, the HTTP server) and a path inside the root (for ostree).
struct CurrentClient {
    let root: String

    /// The root, or an XCTSkip that names why the layer cannot run.
    static func require() throws -> CurrentClient {
        if let why = ProcessInfo.processInfo.environment["DELTAGEN_TRIXIE_UNAVAILABLE"], !why.isEmpty {
            throw XCTSkip("current-client layer skipped: \(why)")
        }
        guard let root = ProcessInfo.processInfo.environment["DELTAGEN_TRIXIE_ROOT"], !root.isEmpty else {
            throw XCTSkip("current-client layer skipped: DELTAGEN_TRIXIE_ROOT is not set (Scripts/test.sh sets it when the trixie root builds)")
        }
        guard FileManager.default.isExecutableFile(atPath: root + "/usr/bin/ostree") else {
            throw XCTSkip("current-client layer skipped: \(root) holds no usr/bin/ostree")
        }
        guard FileManager.default.fileExists(atPath: root + "/proc/self") else {
            throw XCTSkip("current-client layer skipped: /proc is not mounted in \(root)")
        }
        return CurrentClient(root: root)
    }

    /// A fresh scratch directory inside the root: (host path, path inside the root).
    func scratch() throws -> (host: String, inner: String) {
        var template = Array((root + "/tmp/deltagen-current-XXXXXX").utf8CString)
        guard let p = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw CommandFailure(command: "mkdtemp in \(root)/tmp", result: CommandResult(status: -1, stdout: "", stderr: ""))
        }
        let host = String(cString: p)
        return (host, String(host.dropFirst(root.count)))
    }

    /// The host path of a path inside the root.
    func host(_ inner: String) -> String { root + inner }

    func run(_ repo: String, _ args: [String]) throws -> CommandResult {
        try Harness.run(["chroot", root, "ostree", "--repo=\(repo)"] + args)
    }

    /// Runs the chrooted ostree on `repo` (a path inside the root); it must succeed.
    @discardableResult
    func ostree(_ repo: String, _ args: String..., file: StaticString = #filePath, line: UInt = #line) throws -> String {
        try Harness.check(["chroot", root, "ostree", "--repo=\(repo)"] + args, file: file, line: line)
    }

    /// The client's version line, e.g. "Version: '2025.2'".
    var version: String {
        let out = (try? Harness.run(["chroot", root, "ostree", "--version"]).stdout) ?? ""
        return out.split(separator: "\n").first { $0.contains("Version") }.map { $0.trimmingCharacters(in: .whitespaces) } ?? "?"
    }

    /// fsck is clean, and `commit` in `client` equals `commit` in `source` (all paths inside
    /// the root): same listing with checksums and xattrs, same checkout.
    func assertHolds(client: String, source: String, commit: String,
                     file: StaticString = #filePath, line: UInt = #line) throws {
        let fsck = try ostree(client, "fsck", file: file, line: line)
        XCTAssertTrue(fsck.contains("no errors found"), fsck, file: file, line: line)
        XCTAssertFalse(fsck.lowercased().contains("partial"), "fsck reports a partial commit: \(fsck)", file: file, line: line)
        XCTAssertEqual(try ostree(client, "rev-parse", commit), commit + "\n", file: file, line: line)
        XCTAssertEqual(try ostree(client, "ls", "-RCX", commit), try ostree(source, "ls", "-RCX", commit),
                       "listing of \(commit) differs", file: file, line: line)
        let work = try scratch()
        try ostree(client, "checkout", "-U", "--disable-cache", commit, work.inner + "/client")
        try ostree(source, "checkout", "-U", "--disable-cache", commit, work.inner + "/source")
        let diff = try Harness.run(["diff", "-r", "--no-dereference", work.host + "/source", work.host + "/client"])
        XCTAssertEqual(diff.status, 0, "checkouts differ: \(diff.stdout)", file: file, line: line)
        try? FileManager.default.removeItem(atPath: work.host)
    }
}

/// A directory to serve that holds only what a delta pull may need: `config`, `refs/`, the
/// summary, the TO commit (and its `.commitmeta`), the delta's superblock and parts, and the
/// fallback objects the superblock names. No other loose object: a client that pulls from it
/// with `--require-static-deltas` proves the delta complete.
enum DeltaOnlyServer {
    /// Copies those files of the archive repo `source` (which must hold the delta at `name`
    /// and an up-to-date summary) into the new directory `target`. Returns the relative paths.
    @discardableResult
    static func make(from source: String, delta name: DeltaName, into target: String) throws -> [String] {
        let fm = FileManager.default
        let to = name.to.hex
        let superblock = try DeltaLocation(repoPath: source, name: name).inspect().superblock
        func loose(_ checksum: String, _ suffix: String) -> String {
            "objects/\(checksum.prefix(2))/\(checksum.dropFirst(2)).\(suffix)"
        }
        var files = ["config", "summary", loose(to, "commit")]
        if fm.fileExists(atPath: source + "/" + loose(to, "commitmeta")) { files.append(loose(to, "commitmeta")) }
        files += superblock.fallbacks.map { loose($0.object.checksum.hex, $0.object.type.archiveSuffix) }
        let deltaDir = name.relativePath
        for entry in try fm.contentsOfDirectory(atPath: source + "/" + deltaDir) { files.append(deltaDir + "/" + entry) }
        for ref in try fm.subpathsOfDirectory(atPath: source + "/refs") {
            var isDir: ObjCBool = false
            if fm.fileExists(atPath: source + "/refs/" + ref, isDirectory: &isDir), !isDir.boolValue { files.append("refs/" + ref) }
        }
        for file in files {
            let dest = target + "/" + file
            try fm.createDirectory(atPath: (dest as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try fm.copyItem(atPath: source + "/" + file, toPath: dest)
        }
        return files
    }
}
