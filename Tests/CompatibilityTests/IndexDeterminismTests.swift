import DeltaFormat
import Foundation
import OSTreeRepo
import XCTest

/// Delta indexes come out byte for byte the same whichever path made them: one serial
/// ci-job, fan-out jobs merged in either order, or publish (issue 16, item 6).
final class IndexDeterminismTests: XCTestCase {
    func testFanOutInEitherOrderAndSerialJobGiveIdenticalIndexes() throws {
        let tarballs = try FleetTarballs.shared()
        let t = tarballs.repo
        let work = try Harness.makeTemporaryDirectory()
        try Fleet.write(tarballs.targetsJSON(), to: work + "/targets.json")
        let plan = [Harness.deltagen, "plan", "3", "1", "2", "--targets", work + "/targets.json",
                    "--tarball-url", "file://\(tarballs.dir)/v{version}.tar", "--format", "deltas"]
        try Fleet.write(try Harness.check(plan), to: work + "/deltas.json")

        try Harness.check([Harness.deltagen, "ci-job", "--deltas", work + "/deltas.json", "--workdir", work + "/serial",
                           "--publish", work + "/served"])
        var uploads: [String] = []
        for (i, from) in [t.v1, t.v2].enumerated() {
            try Harness.check([Harness.deltagen, "ci-job", "--deltas", work + "/deltas.json", "--only", "\(from)-\(t.v3)",
                               "--workdir", "\(work)/job\(i)"])
            uploads.append("\(work)/job\(i)/ostree_repo/deltas")
        }
        try Harness.check([Harness.deltagen, "merge-deltas"] + uploads + ["--repo", work + "/forward", "--archive", work + "/a1"])
        try Harness.check([Harness.deltagen, "merge-deltas"] + uploads.reversed() + ["--repo", work + "/backward",
                                                                                    "--archive", work + "/a2"])

        let index = DeltaName(t.v3)!.indexRelativePath
        let serial = try Data(contentsOf: URL(fileURLWithPath: "\(work)/serial/ostree_repo/\(index)"))
        for repo in ["forward", "backward", "served"] {
            let other = try Data(contentsOf: URL(fileURLWithPath: "\(work)/\(repo)/\(index)"))
            XCTAssertEqual(other, serial, "\(repo)'s index differs from the serial job's")
        }
        // Every index file, not only v3's, and the stats.
        for repo in ["forward", "backward"] {
            let diff = try Harness.run(["diff", "-r", "\(work)/serial/ostree_repo/delta-indexes", "\(work)/\(repo)/delta-indexes"])
            XCTAssertEqual(diff.status, 0, diff.stdout)
        }
        XCTAssertEqual(try Fleet.sha256("\(work)/a1/\(t.v3).json"), try Fleet.sha256("\(work)/a2/\(t.v3).json"))
        // libostree reads the same two entries from it.
        XCTAssertEqual(try Repository(path: work + "/forward").indexedDeltas(to: Checksum(hex: t.v3)!).map(\.description),
                       ["\(t.v1)-\(t.v3)", "\(t.v2)-\(t.v3)"].sorted())
        // Stock ostree pulls through the published index.
        let http = try LoopbackHTTPServer(directory: work + "/served")
        try Fleet.devicePull(url: http.url, from: t.v2, to: t.v3, source: t)
    }

    /// With one delta there is no order to differ: our bytes equal libostree's own reindex.
    func testOneEntryIndexEqualsLibostreeBytes() throws {
        let small = try SmallRepo.shared()
        let repo = try small.copy()
        try Harness.check([Harness.deltagen, "generate-delta", "--repo", repo, small.v1, small.v2])
        try Harness.ostree(repo, "static-delta", "reindex")
        let index = "\(repo)/\(DeltaName(small.v2)!.indexRelativePath)"
        let theirs = try Data(contentsOf: URL(fileURLWithPath: index))
        try Harness.check([Harness.deltagen, "merge-deltas", "--repo", repo, "--archive", repo + "/../archive", repo])
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: index)), theirs)
    }
}
