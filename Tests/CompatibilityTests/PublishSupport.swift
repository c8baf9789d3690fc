import DeltaFormat
import Foundation
import XCTest

/// A built repository to publish and a served directory that already holds the previous
/// release: `source` has v1 and v2 (ref `small` at v2), a three-part v1→v2 delta, a
/// from-scratch v2 delta, indexes, summary and stats; `pristine` is DEST with v1 only,
/// as the server held it before this release.
struct PublishFixture {
    let small: SmallRepo
    let work: String
    let source: String
    let archive: String
    let pristine: String

    init() throws {
        small = try SmallRepo.shared()
        work = try Harness.makeTemporaryDirectory()
        source = try small.copy()
        archive = work + "/archive"
        for args in [["--max-chunk-size", "1", "--min-fallback-size", "0", small.v1, small.v2], ["--empty", small.v2]] {
            try Harness.check([Harness.deltagen, "generate-delta", "--repo", source] + args)
        }
        // merge-deltas over its own repository: our indexes, summary and stats, nothing copied.
        try Harness.check([Harness.deltagen, "merge-deltas", "--repo", source, "--archive", archive, source])
        let base = work + "/base"
        try Harness.ostree(base, "init", "--mode=archive")
        try Harness.ostree(base, "pull-local", source, small.v1)
        try Harness.ostree(base, "refs", "--create=small", small.v1)
        try Harness.ostree(base, "summary", "-u")
        pristine = work + "/pristine"
        try Harness.check([Harness.deltagen, "publish", "--repo", base, pristine])
    }

    /// A DEST that already serves v2 with another v1→v2 delta (inline, one superblock and
    /// no parts), as an earlier run with other options left it.
    func destinationWithOtherDelta(_ path: String) throws {
        let other = try small.copy()
        try Harness.check([Harness.deltagen, "generate-delta", "--repo", other, "--inline", small.v1, small.v2])
        try Harness.check([Harness.deltagen, "merge-deltas", "--repo", other, "--archive", work + "/other-archive", other])
        try resetDestination(path)
        try Harness.check([Harness.deltagen, "publish", "--repo", other, path])
    }

    /// A fresh copy of the v1-only DEST at `path`.
    func resetDestination(_ path: String) throws {
        try? FileManager.default.removeItem(atPath: path)
        try Harness.check(["cp", "-a", pristine, path])
    }

    func publishArguments(_ dest: String, _ extra: [String] = []) -> [String] {
        [Harness.deltagen, "publish", "--repo", source, "--archive", archive] + extra + [dest]
    }

    /// A device repository holding v1 with `url` as its remote, to copy before each pull.
    func clientTemplate(url: String) throws -> String {
        let client = try Harness.makeTemporaryDirectory() + "/client"
        try Harness.ostree(client, "init", "--mode=bare-user")
        try Harness.ostree(client, "pull-local", source, small.v1)
        try Harness.ostree(client, "remote", "add", "--no-gpg-verify", "origin", url)
        return client
    }

    enum PullOutcome: Equatable {
        case pulled
        case noDeltaYet
        case failed(String)
    }

    /// One stock `ostree pull --require-static-deltas origin v2` from a copy of `template`.
    func pull(_ template: String) throws -> PullOutcome {
        let client = try Harness.makeTemporaryDirectory() + "/client"
        try Harness.check(["cp", "-a", template, client])
        defer { try? FileManager.default.removeItem(atPath: (client as NSString).deletingLastPathComponent) }
        let r = try Harness.run(["ostree", "--repo=\(client)", "pull", "--require-static-deltas", "origin", small.v2])
        if r.status == 0 {
            let fsck = try Harness.run(["ostree", "--repo=\(client)", "fsck"])
            return fsck.status == 0 ? .pulled : .failed("client fsck after the pull: \(fsck.stderr)")
        }
        // Before the index for v2 lands, a client finds no delta: the one allowed failure.
        if r.stderr.contains("Static deltas required, but none found") { return .noDeltaYet }
        return .failed(r.stderr)
    }

    /// Every file under `root` with its bytes, inode and modification time, to prove a run
    /// wrote nothing (a rewrite with the same bytes changes the inode).
    static func snapshot(_ root: String) throws -> [String: String] {
        var out: [String: String] = [:]
        guard let walker = FileManager.default.enumerator(atPath: root) else { return out }
        while let rel = walker.nextObject() as? String {
            var st = stat()
            guard lstat("\(root)/\(rel)", &st) == 0 else { continue }
            var line = "mode \(st.st_mode) inode \(st.st_ino) mtime \(st.st_mtim.tv_sec).\(st.st_mtim.tv_nsec)"
            if st.st_mode & S_IFMT == S_IFREG {
                line += " sha256 " + (try Fleet.sha256("\(root)/\(rel)"))
            }
            out[rel] = line
        }
        return out
    }

    /// The sha256 of every regular file under `root` that a client may read (no lock, no tmp/).
    static func contents(_ root: String) throws -> [String: String] {
        var out: [String: String] = [:]
        let all = (FileManager.default.enumerator(atPath: root)?.allObjects as? [String]) ?? []
        for rel in all where rel != "deltagen-publish.lock" && !rel.hasPrefix("tmp/") && !rel.hasPrefix("state/") {
            var st = stat()
            if lstat("\(root)/\(rel)", &st) == 0, st.st_mode & S_IFMT == S_IFREG { out[rel] = try Fleet.sha256("\(root)/\(rel)") }
        }
        return out
    }

    /// Temporary files a publish left behind.
    static func leftovers(_ root: String) -> [String] {
        let all = (FileManager.default.enumerator(atPath: root)?.allObjects as? [String]) ?? []
        return all.filter { ($0 as NSString).lastPathComponent.hasPrefix(".deltagen-publish-") }
    }
}
