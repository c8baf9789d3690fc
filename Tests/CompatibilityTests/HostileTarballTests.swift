import Foundation
import XCTest

/// Repo tarballs with links and special files, as an attacker who controls a build's tarball
/// would make them. ci-job runs as root, so each must be refused with one line before
/// libostree opens anything, with nothing created or read outside the workdir.
final class HostileTarballTests: XCTestCase {
    /// Copies v2.tar (the repository in ostree_repo/) to `output`, uncompressed, with each
    /// change applied: a member replaced (same name) or appended; with `move`, the members
    /// at and under the change's name are first renamed to its target, so that the link
    /// appended in their place points at real content. JSON in, so nothing needs quoting.
    private static let craft = #"""
        import io, json, os, sys, tarfile
        src, dst, changes = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
        kinds = {"file": tarfile.REGTYPE, "dir": tarfile.DIRTYPE, "sym": tarfile.SYMTYPE, "hard": tarfile.LNKTYPE,
                 "chr": tarfile.CHRTYPE, "blk": tarfile.BLKTYPE, "fifo": tarfile.FIFOTYPE}
        def member(c):
            info = tarfile.TarInfo(c["name"])
            info.type = kinds[c["kind"]]
            info.mode = int(c.get("mode", "644"), 8)
            info.linkname = c.get("target", "")
            if c["kind"] in ("chr", "blk"):
                info.devmajor, info.devminor = 1, 3
            data = c.get("data", "").encode()
            zeros = c.get("zeros", 0)
            info.size = (len(data) + zeros) if c["kind"] == "file" else 0
            stream = Zeros(zeros) if zeros else io.BytesIO(data)
            return info, (stream if info.size else None)
        class Zeros(io.RawIOBase):
            def __init__(self, n): self.left = n
            def readable(self): return True
            def readinto(self, b):
                n = min(len(b), self.left); b[:n] = bytes(n); self.left -= n; return n
        replaced = {c["name"]: c for c in changes if c.get("replace")}
        moves = [(c["name"], os.path.join(os.path.dirname(c["name"]), c["target"])) for c in changes if c.get("move")]
        with tarfile.open(dst, "w:gz" if dst.endswith(".gz") else "w", format=tarfile.GNU_FORMAT) as tout:
            tin = tarfile.open(src) if src != "-" else None
            for m in (tin.getmembers() if tin else []):
                name = m.name.rstrip("/")
                for old, new in moves:
                    if name == old or name.startswith(old + "/"):
                        name = new + name[len(old):]
                        m.name = name
                if name in replaced:
                    tout.addfile(*member(replaced[name]))
                else:
                    tout.addfile(m, tin.extractfile(m) if m.isfile() else None)
            for c in changes:
                if not c.get("replace"):
                    tout.addfile(*member(c))
        """#

    private struct Change: Encodable {
        var name: String
        var kind: String
        var target: String?
        var mode: String?
        var data: String?
        var zeros: Int?
        var replace: Bool?
        var move: Bool?
    }

    private func tarball(_ changes: [Change], in dir: String, name: String, gzip: Bool = false,
                         base: Bool = true) throws -> String {
        let tarballs = try FleetTarballs.shared()
        let output = "\(dir)/\(name).tar\(gzip ? ".gz" : "")"
        let json = String(decoding: try JSONEncoder().encode(changes), as: UTF8.self)
        try Harness.check(["python3", "-c", HostileTarballTests.craft, base ? "\(tarballs.dir)/v2.tar" : "-", output, json])
        return output
    }

    /// Every file and directory under `root`, with size and mtime, not following links.
    private func snapshot(_ root: String) throws -> [String] {
        try Harness.check(["find", root, "-printf", "%p %y %s %T@\\n"]).split(separator: "\n").map(String.init).sorted()
    }

    func testLinksAndSpecialFilesAreRefusedBeforeTheRepositoryIsOpened() throws {
        let t = try FleetTarballs.shared().repo
        let dir = try Harness.makeTemporaryDirectory()
        // Outside the workdir: a secret file and an empty directory that nothing may touch.
        let outside = dir + "/outside"
        try FileManager.default.createDirectory(atPath: outside + "/empty", withIntermediateDirectories: true)
        let secret = "SECRET-\(UUID().uuidString)"
        try Fleet.write("\(secret)\n", to: outside + "/secret")
        let otherRepo = dir + "/other-repo"
        try Harness.ostree(otherRepo, "init", "--mode=archive")
        let before = try snapshot(outside) + snapshot(otherRepo)

        let r = "ostree_repo"
        var cases: [(String, [Change], String)] = [
            ("config -> outside file", [Change(name: "\(r)/config", kind: "sym", target: outside + "/secret", replace: true)],
             "is a symlink to \(outside)/secret, outside the tarball"),
            ("config -> ../ outside file", [Change(name: "\(r)/config", kind: "sym",
                                                  target: String(repeating: "../", count: 12) + outside.dropFirst() + "/secret", replace: true)],
             "outside the tarball"),
            ("tmp -> outside directory", [Change(name: "\(r)/tmp", kind: "sym", target: outside + "/empty", replace: true)],
             "is a symlink to \(outside)/empty"),
            ("top-level link to another repository", [Change(name: "repo-link", kind: "sym", target: otherRepo)],
             "is a symlink to \(otherRepo)"),
            ("the repository directory is a link", [Change(name: r, kind: "sym", target: ".real", move: true)],
             "the top-level entry ostree_repo is a symlink"),
        ]
        for name in ["config", "objects", "tmp", "refs", "deltas"] {
            cases.append(("\(name) links inside the repository",
                          [Change(name: "\(r)/\(name)", kind: "sym", target: "\(name)2", move: true)],
                          "the repository's \(name) is a link"))
        }
        cases += [
            ("object linked through an in-tree loop", [
                Change(name: "\(r)/loop", kind: "sym", target: "."),
                Change(name: "\(r)/objects/zz.filez", kind: "sym", target: "../loop/loop/../../../../../outside/secret")],
             "outside"),
            ("symlink that resolves outside via an in-tree link", [
                Change(name: "\(r)/loop", kind: "sym", target: "."),
                Change(name: "\(r)/state/up", kind: "sym", target: "../loop/loop/../..")],
             "resolves outside the repository"),
            ("file written through an in-tree symlink", [
                Change(name: "\(r)/loop", kind: "sym", target: "."),
                Change(name: "\(r)/loop/evil", kind: "file", data: "x")],
             "writing \(r)/loop/evil"),
            ("character device", [Change(name: "\(r)/objects/null", kind: "chr", mode: "666")], "is a device node"),
            ("block device", [Change(name: "\(r)/objects/sda", kind: "blk", mode: "660")], "is a device node"),
            ("FIFO", [Change(name: "\(r)/objects/fifo", kind: "fifo")], "is a FIFO"),
            ("setuid file", [Change(name: "\(r)/objects/suid", kind: "file", mode: "4755", data: "#!/bin/sh\n")],
             "has a setuid or setgid bit"),
            ("setgid directory", [Change(name: "\(r)/extensions", kind: "dir", mode: "2755")], "has a setuid or setgid bit"),
            ("hard link to an absolute path", [Change(name: "\(r)/objects/h", kind: "hard", target: outside + "/secret")],
             "is an absolute path"),
            ("hard link with ..", [Change(name: "\(r)/objects/h", kind: "hard", target: "../../outside/secret")],
             "contains .."),
            ("hard link to a name never extracted", [Change(name: "\(r)/objects/h", kind: "hard", target: "\(r)/nothing")],
             "not a regular file earlier in the tarball"),
            ("absolute member name", [Change(name: outside + "/planted", kind: "file", data: "x")], "is an absolute path"),
            ("member with ..", [Change(name: "\(r)/../../planted", kind: "file", data: "x")], "contains .."),
        ]
        for (label, changes, expected) in cases {
            let work = "\(dir)/work-\(label.filter { $0.isLetter })"
            try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
            let path = try tarball(changes, in: dir, name: label.filter { $0.isLetter })
            try Fleet.write(Fleet.deltasFile(to: (t.v2, "file://" + path), froms: []), to: work + "/d.json")
            let result = try Harness.run([Harness.deltagen, "ci-job", "--deltas", work + "/d.json", "--workdir", work + "/w"])
            XCTAssertEqual(result.status, 2, "\(label): \(result.stderr)")  // a hostile tarball is bad input
            let errors = result.stderr.split(separator: "\n").filter { $0.hasPrefix("error: ") }
            XCTAssertEqual(errors.count, 1, "\(label): \(result.stderr)")
            XCTAssertTrue(errors.first?.contains(expected) == true, "\(label): expected \"\(expected)\" in \(result.stderr)")
            XCTAssertFalse((result.stdout + result.stderr).contains(secret), "\(label): the secret reached the log")
            XCTAssertEqual(try snapshot(outside) + snapshot(otherRepo), before, "\(label): something outside changed")
            XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/planted"), label)
            let left = try FileManager.default.contentsOfDirectory(atPath: work + "/w").filter { $0.hasPrefix(".deltagen") }
            XCTAssertEqual(left, [], "\(label): scratch left")
            let objects = try FileManager.default.contentsOfDirectory(atPath: work + "/w/ostree_repo/objects")
            XCTAssertEqual(objects, [], "\(label): objects were merged")
        }
    }

    func testLinksThatStayInsideAreAccepted() throws {
        let t = try FleetTarballs.shared().repo
        let dir = try Harness.makeTemporaryDirectory()
        // An in-repo symlink and a hard link between two files of the tarball are harmless.
        let path = try tarball([Change(name: "ostree_repo/config-link", kind: "sym", target: "config"),
                                Change(name: "ostree_repo/config-hardlink", kind: "hard", target: "ostree_repo/config")],
                               in: dir, name: "benign")
        try Fleet.write(Fleet.deltasFile(to: (t.v2, "file://" + path), froms: []), to: dir + "/d.json")
        let r = try Harness.run([Harness.deltagen, "ci-job", "--deltas", dir + "/d.json", "--workdir", dir + "/w"])
        XCTAssertEqual(r.status, 0, r.stderr)
    }

    /// 300 MB of zeros gzip to 300 kB: a small tarball must not fill the disk.
    func testATarballThatUnpacksFarBeyondItsSizeIsRefused() throws {
        let t = try FleetTarballs.shared().repo
        let dir = try Harness.makeTemporaryDirectory()
        let path = try tarball([Change(name: "ostree_repo/config", kind: "file", data: "[core]\nmode=archive-z2\n"),
                                Change(name: "ostree_repo/objects/zz.filez", kind: "file", zeros: 300_000_000)],
                               in: dir, name: "bomb", gzip: true, base: false)
        XCTAssertLessThan(try Fleet.fileSize(path), 2_000_000)
        try Fleet.write(Fleet.deltasFile(to: (t.v2, "file://" + path), froms: []), to: dir + "/d.json")
        let r = try Harness.run([Harness.deltagen, "ci-job", "--deltas", dir + "/d.json", "--workdir", dir + "/w"])
        XCTAssertEqual(r.status, 2, r.stderr)
        let errors = r.stderr.split(separator: "\n").filter { $0.hasPrefix("error: ") }
        XCTAssertEqual(errors.count, 1, r.stderr)
        XCTAssertTrue(errors.first?.contains("ostree_repo/objects/zz.filez would unpack past 256000000 bytes") == true, r.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir + "/w").filter { $0.hasPrefix(".deltagen") }, [])
    }
}
