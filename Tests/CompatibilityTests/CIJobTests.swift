import DeltaFormat
import Foundation
import OSTreeRepo
import XCTest

/// `deltagen ci-job` and `merge-deltas`: tarballs in, deltas, stats and indexes out, and a
/// device-like client with stock ostree pulling the result over HTTP.
final class CIJobTests: XCTestCase {
    func testEndToEndOverHTTPThenARerunKeepsEarlierFroms() throws {
        let tarballs = try FleetTarballs.shared()
        let t = tarballs.repo
        let tarballServer = try LoopbackHTTPServer(directory: tarballs.dir)
        let work = try Harness.makeTemporaryDirectory()
        let deltas1 = work + "/deltas1.json"
        try Fleet.write(Fleet.deltasFile(to: (t.v3, tarballServer.url + "v3.tar"),
                                         froms: [(t.v2, tarballServer.url + "v2.tar")]), to: deltas1)
        let first = try Harness.check([Harness.deltagen, "ci-job", "--deltas", deltas1, "--workdir", work + "/w"])
        let repo = work + "/w/ostree_repo"
        let statsPath = "\(work)/w/archive/\(t.v3).json"

        // Stats: canonical bytes equal to `ostree static-delta show`'s totals, and the printed reference.
        let stats1 = try String(contentsOfFile: statsPath, encoding: .utf8)
        XCTAssertEqual(stats1, try Fleet.expectedStats(repo: repo, to: t.v3, froms: [t.v2]))
        let sha1 = try Fleet.sha256(statsPath)
        XCTAssertTrue(first.contains("{\"sha256\":\"\(sha1)\",\"size\":\(try Fleet.fileSize(statsPath))}"), first)

        // Summary and indexes refreshed through libostree.
        XCTAssertTrue(try String(contentsOfFile: repo + "/config", encoding: .utf8).contains("indexed-deltas=true"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: repo + "/summary"))
        let v3 = Checksum(hex: t.v3)!
        XCTAssertEqual(try Repository(path: repo).indexedDeltas(to: v3).map(\.description), ["\(t.v2)-\(t.v3)"])
        XCTAssertTrue(try Harness.ostree(repo, "summary", "--view").contains("\(t.v2)-\(t.v3)"))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: work + "/w").sorted(), ["archive", "ostree_repo"],
                       "downloads and extracted repos are cleaned up")

        // A device at v2 pulls v3 from the published repo with deltas required.
        let published = try LoopbackHTTPServer(directory: repo)
        try Fleet.devicePull(url: published.url, from: t.v2, to: t.v3, source: t)
        let served = published.servedPaths()
        XCTAssertTrue(served.contains("/" + DeltaName(from: nil, to: v3).indexRelativePath), "the client read the delta index")
        XCTAssertTrue(served.contains("/\(Fleet.relativePath(t.v2, t.v3))/superblock"))

        // Rerun with a new from that has no tarball: pulled from --remote-url, stats and index keep v2.
        let remote = try LoopbackHTTPServer(directory: t.path)
        let deltas2 = work + "/deltas2.json"
        try Fleet.write(Fleet.deltasFile(to: (t.v3, tarballServer.url + "v3.tar"), froms: [(t.v1, nil), (t.v2, "")]),
                        to: deltas2)
        let second = try Harness.check([Harness.deltagen, "ci-job", "--deltas", deltas2, "--workdir", work + "/w",
                                        "--remote-url", remote.url])
        XCTAssertTrue(second.contains("\(t.v2)-\(t.v3): exists and verifies, kept"), second)
        let stats2 = try String(contentsOfFile: statsPath, encoding: .utf8)
        XCTAssertEqual(stats2, try Fleet.expectedStats(repo: repo, to: t.v3, froms: [t.v1, t.v2]))
        XCTAssertTrue(stats2.contains(String(stats1.dropFirst(69).dropLast(2))), "the v2 entry is unchanged")
        XCTAssertEqual(try Repository(path: repo).indexedDeltas(to: v3).map(\.description).sorted(),
                       ["\(t.v1)-\(t.v3)", "\(t.v2)-\(t.v3)"].sorted())
        XCTAssertFalse(try String(contentsOfFile: repo + "/config", encoding: .utf8).contains("deltagen-fetch"),
                       "the temporary remote is gone from the config")
        try Fleet.devicePull(url: published.url, from: t.v1, to: t.v3, source: t)
        try Fleet.devicePull(url: published.url, from: t.v2, to: t.v3, source: t)
    }

    func testFanOutGivesTheSameDeltasAndStatsAsOneJob() throws {
        let tarballs = try FleetTarballs.shared()
        let t = tarballs.repo
        let work = try Harness.makeTemporaryDirectory()
        try Fleet.write(tarballs.targetsJSON(), to: work + "/targets.json")
        let plan = [Harness.deltagen, "plan", "3", "1", "2", "--targets", work + "/targets.json",
                    "--tarball-url", "file://\(tarballs.dir)/v{version}.tar"]
        try Fleet.write(try Harness.check(plan + ["--format", "deltas"]), to: work + "/deltas.json")
        let matrixLine = try Harness.check(plan + ["--format", "matrix"])

        try Harness.check([Harness.deltagen, "ci-job", "--deltas", work + "/deltas.json", "--workdir", work + "/alone"])

        let matrix = try JSONSerialization.jsonObject(with: Data(matrixLine.utf8)) as? [String: Any]
        let include = try XCTUnwrap(matrix?["include"] as? [[String: Any]])
        XCTAssertEqual(include.count, 2)
        var uploads: [String] = []
        for (i, entry) in include.enumerated() {
            let from = try XCTUnwrap(entry["from"] as? String), to = try XCTUnwrap(entry["to"] as? String)
            XCTAssertEqual(to, t.v3)
            try Harness.check([Harness.deltagen, "ci-job", "--deltas", work + "/deltas.json", "--only", "\(from)-\(to)",
                               "--workdir", "\(work)/job\(i)"])
            uploads.append("\(work)/job\(i)/ostree_repo/deltas")
        }
        try Harness.check([Harness.deltagen, "merge-deltas"] + uploads + ["--repo", work + "/published",
                                                                         "--archive", work + "/archive"])

        let alone = try Data(contentsOf: URL(fileURLWithPath: "\(work)/alone/archive/\(t.v3).json"))
        let merged = try Data(contentsOf: URL(fileURLWithPath: "\(work)/archive/\(t.v3).json"))
        XCTAssertEqual(String(decoding: merged, as: UTF8.self), String(decoding: alone, as: UTF8.self))
        XCTAssertEqual(String(decoding: merged, as: UTF8.self),
                       try Fleet.expectedStats(repo: work + "/alone/ostree_repo", to: t.v3, froms: [t.v1, t.v2]))
        for from in [t.v1, t.v2] {
            let rel = Fleet.relativePath(from, t.v3)
            let diff = try Harness.run(["diff", "-r", "\(work)/alone/ostree_repo/\(rel)", "\(work)/published/\(rel)"])
            XCTAssertEqual(diff.status, 0, "delta \(from)-\(t.v3) differs: \(diff.stdout)")
        }
        let v3 = Checksum(hex: t.v3)!
        XCTAssertEqual(try Repository(path: work + "/published").indexedDeltas(to: v3),
                       try Repository(path: work + "/alone/ostree_repo").indexedDeltas(to: v3))
        XCTAssertEqual(try Repository(path: work + "/published").indexedDeltas(to: v3).count, 2)

        // Each job writes explain's report beside its stats. merge-deltas cannot make one
        // (the published repository has no commits), so it takes each report from the
        // explain/ uploaded beside the deltas, as the workflow in docs/ci.md uploads them.
        func report(_ path: String) throws -> [String: Any] {
            try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
        }
        let stats = try XCTUnwrap(JSONSerialization.jsonObject(with: alone) as? [String: [String: [String: Int]]])
        var shaped: [String] = []
        for (i, from) in [t.v1, t.v2].enumerated() {
            let made = try report("\(work)/alone/archive/explain/\(from)-\(t.v3).json")
            XCTAssertEqual(made["from"] as? String, from)
            XCTAssertEqual(made["totalSize"] as? Int, stats[t.v3]?[from]?["size"])
            let upload = "\(work)/upload\(i)"
            try FileManager.default.createDirectory(atPath: upload, withIntermediateDirectories: false)
            try FileManager.default.copyItem(atPath: "\(work)/job\(i)/ostree_repo/deltas", toPath: upload + "/deltas")
            try FileManager.default.copyItem(atPath: "\(work)/job\(i)/archive/explain", toPath: upload + "/explain")
            shaped.append(upload)
        }
        let adopted = try Harness.check([Harness.deltagen, "merge-deltas"] + shaped + ["--repo", work + "/published2",
                                                                                      "--archive", work + "/archive2"])
        for from in [t.v1, t.v2] {
            XCTAssertTrue(adopted.contains("Explained \(from)-\(t.v3) in"), adopted)
            let copy = try report("\(work)/archive2/explain/\(from)-\(t.v3).json")
            XCTAssertEqual(copy["totalSize"] as? Int, stats[t.v3]?[from]?["size"])
        }
        // An upload is hostile: a report that does not explain its delta stops the merge
        // before anything is copied.
        let forged = "\(shaped[0])/explain/" + (try XCTUnwrap(try FileManager.default.contentsOfDirectory(atPath: shaped[0] + "/explain").first))
        var tampered = try report(forged)
        tampered["totalSize"] = 1
        try JSONSerialization.data(withJSONObject: tampered).write(to: URL(fileURLWithPath: forged))
        let refused = try Harness.run([Harness.deltagen, "merge-deltas"] + shaped + ["--repo", work + "/published3",
                                                                                    "--archive", work + "/archive3"])
        XCTAssertEqual(refused.status, 2, refused.stderr)
        XCTAssertEqual(refused.errorOutput.split(separator: "\n").count, 1, refused.stderr)
        XCTAssertTrue(refused.stderr.contains("does not explain delta"), refused.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: work + "/published3"))

        // Merging the same uploads again copies nothing and leaves the stats bytes alone.
        let again = try Harness.check([Harness.deltagen, "merge-deltas"] + uploads + ["--repo", work + "/published",
                                                                                     "--archive", work + "/archive"])
        XCTAssertTrue(again.contains("(0 copied"), again)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: "\(work)/archive/\(t.v3).json")), alone)
    }

    func testFailuresStopBeforeAnythingIsPublished() throws {
        let tarballs = try FleetTarballs.shared()
        let t = tarballs.repo
        let server = try LoopbackHTTPServer(directory: tarballs.dir)
        let work = try Harness.makeTemporaryDirectory()
        func job(_ deltas: String, _ extra: [String] = [], workdir: String? = nil) throws -> CommandResult {
            try Fleet.write(deltas, to: work + "/d.json")
            return try Harness.run([Harness.deltagen, "ci-job", "--deltas", work + "/d.json",
                                    "--workdir", workdir ?? work + "/w"] + extra)
        }
        // Bad input (a deltas file, a tarball, a stats file, an upload) exits 2; a fetch, 3.
        func assertOneLineError(_ r: CommandResult, _ needle: String, status: Int32 = 2,
                                file: StaticString = #filePath, line: UInt = #line) {
            XCTAssertEqual(r.status, status, r.stderr, file: file, line: line)
            let errors = r.stderr.split(separator: "\n").filter { $0.hasPrefix("error: ") }
            XCTAssertEqual(errors.count, 1, r.stderr, file: file, line: line)
            XCTAssertTrue(errors.first?.contains(needle) == true, r.stderr, file: file, line: line)
        }

        // One missing tarball: every URL is checked first, and nothing is downloaded.
        let missing = try job(Fleet.deltasFile(to: (t.v3, server.url + "v3.tar"), froms: [(t.v2, server.url + "nope.tar")]))
        assertOneLineError(missing, "1 of 2 tarballs cannot be fetched, nothing was downloaded: \(server.url)nope.tar: HTTP 404",
                           status: 3)
        XCTAssertTrue(server.servedPaths().isEmpty, "no GET before every HEAD succeeded: \(server.servedPaths())")

        assertOneLineError(try job("[{\"to\": [\"\(t.v3)\", \"\"], \"froms\": [], \"x\": 1}]"), "unexpected key \"x\"")
        assertOneLineError(try job(Fleet.deltasFile(to: (t.v3, ""), froms: [(t.v2, "")])),
                           "commit \(t.v3) has no tarball URL, and no --remote-url was given")
        assertOneLineError(try job(Fleet.deltasFile(to: (t.v3, "ftp://x/v3.tar"), froms: [(t.v2, "")])),
                           "unsupported tarball URL ftp://x/v3.tar")
        assertOneLineError(try job(Fleet.deltasFile(to: (t.v3, tarballs.fileURL("v3")), froms: [(t.v2, "")]),
                                   ["--only", "\(t.v1)-\(t.v3)"]), "has no such pair")
        // A tarball that lacks the commit it is listed for.
        assertOneLineError(try job(Fleet.deltasFile(to: (t.v3, tarballs.fileURL("v3")), froms: [(t.v2, tarballs.fileURL("v1"))])),
                           "merging \(tarballs.fileURL("v1"))")

        // An unreadable earlier stats file stops the job after generation but before the
        // summary, the indexes or any stats are written.
        let fresh = work + "/fresh"
        try FileManager.default.createDirectory(atPath: fresh + "/archive", withIntermediateDirectories: true)
        try Fleet.write("{\"\(t.v3)\": []}", to: "\(fresh)/archive/\(t.v3).json")
        let r = try job(Fleet.deltasFile(to: (t.v3, tarballs.fileURL("v3")), froms: [(t.v2, tarballs.fileURL("v2"))]),
                        workdir: fresh)
        assertOneLineError(r, "archive/\(t.v3).json: \(t.v3): expected an object")
        XCTAssertFalse(FileManager.default.fileExists(atPath: fresh + "/ostree_repo/summary"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: fresh + "/ostree_repo/delta-indexes"))
        XCTAssertEqual(try String(contentsOfFile: "\(fresh)/archive/\(t.v3).json", encoding: .utf8), "{\"\(t.v3)\": []}")

        // merge-deltas refuses a damaged upload before copying anything.
        let upload = fresh + "/ostree_repo"
        let part = "\(upload)/\(Fleet.relativePath(t.v2, t.v3))/0"
        var bytes = try Data(contentsOf: URL(fileURLWithPath: part))
        bytes[bytes.count / 2] ^= 0xFF
        try bytes.write(to: URL(fileURLWithPath: part))
        let merge = try Harness.run([Harness.deltagen, "merge-deltas", upload, "--repo", work + "/pub", "--archive", work + "/a"])
        assertOneLineError(merge, "does not read back")
        XCTAssertFalse(FileManager.default.fileExists(atPath: work + "/pub"))
    }
}
