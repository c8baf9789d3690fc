import DeltaFormat
import DeltaPlanning
import Foundation
import XCTest
@testable import DeltaFactory
import DeltaCompiler

/// From a deltas file to the job's plan: which pairs, which tarballs, which remote commits.
final class JobPlanTests: XCTestCase {
    private let a = Checksum(hex: String(repeating: "a", count: 64))!
    private let b = Checksum(hex: String(repeating: "b", count: 64))!
    private let c = Checksum(hex: String(repeating: "c", count: 64))!

    private func requests() throws -> [DeltaRequest] {
        let json = """
            [{"to":["\(c.hex)","file:///t/c.tar"],"froms":[["\(a.hex)","file:///t/a.tar"],["\(b.hex)",""]]},
             {"to":["\(b.hex)","file:///t/c.tar"],"froms":[["\(a.hex)","file:///t/a.tar"]]}]
            """
        return try DeltasFile.parse(Data(json.utf8))
    }

    func testSourcesDedupeURLsAndFindRemoteCommits() throws {
        let sources = CISources(try requests())
        XCTAssertEqual(sources.urls, ["file:///t/c.tar", "file:///t/a.tar"])
        XCTAssertEqual(sources.allCommits, [c, a, b])
        // b is listed with a URL in the second request, so it is not pulled from the remote.
        XCTAssertEqual(sources.remoteCommits, [])
        XCTAssertEqual(sources.commits(from: "file:///t/c.tar"), [c, b])
        XCTAssertEqual(sources.commits(from: "file:///t/a.tar"), [a])
    }

    func testOnlyRestrictsThePairs() throws {
        let all = try requests()
        XCTAssertEqual(try CIJobRunner.select(all, only: [], file: "d").flatMap(\.names).count, 3)
        let one = try CIJobRunner.select(all, only: ["\(a.hex)-\(b.hex)"], file: "d")
        XCTAssertEqual(one.flatMap(\.names), [DeltaName(from: a, to: b)])
        XCTAssertEqual(CISources(one).urls, ["file:///t/c.tar", "file:///t/a.tar"])
        for bad in ["\(b.hex)-\(a.hex)", c.hex, "nonsense"] {
            XCTAssertThrowsError(try CIJobRunner.select(all, only: [bad], file: "d"), bad) { error in
                XCTAssertEqual((error as? FactoryError)?.failureKind, .badInput)
            }
        }
    }

    func testBadDeltasFileIsBadInput() throws {
        let dir = NSTemporaryDirectory() + "factory-plan-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Data("[{\"to\":1}]".utf8).write(to: URL(fileURLWithPath: dir + "/deltas.json"))
        let job = CIJobRunner(CIJobRunner.Settings(deltas: dir + "/deltas.json"), output: { _ in }, log: { _ in })
        XCTAssertThrowsError(try job.run()) { error in
            XCTAssertEqual(FactoryError.kind(of: error) ?? .badInput, .badInput, "\(error)")
        }
        let missing = CIJobRunner(CIJobRunner.Settings(deltas: dir + "/none.json"), output: { _ in }, log: { _ in })
        XCTAssertThrowsError(try missing.run()) { error in
            XCTAssertEqual((error as? FactoryError)?.failureKind, .badInput)
            XCTAssertTrue("\(error)".contains("no such file"))
        }
    }

    /// The download slots run at once, even past the number of cores: four items that each
    /// wait for all four to start would hang if fewer ran together.
    func testParallelSlotsRunTogether() throws {
        let started = DispatchGroup()
        for _ in 0..<4 { started.enter() }
        let seen = Monitor<[Int]>([])
        try forEachInParallel(Array(0..<4), width: 4) { i in
            started.leave()
            XCTAssertEqual(started.wait(timeout: .now() + 20), .success, "slot \(i) ran alone")
            seen.withLock { $0.append(i) }
        }
        XCTAssertEqual(seen.withLock { $0.sorted() }, [0, 1, 2, 3])
    }

    func testParallelStopsAtTheFirstError() {
        struct Boom: Error {}
        let ran = Monitor(0)
        XCTAssertThrowsError(try forEachInParallel(Array(0..<100), width: 1) { i in
            ran.withLock { $0 += 1 }
            if i == 2 { throw Boom() }
        }) { XCTAssertTrue($0 is Boom) }
        XCTAssertEqual(ran.withLock { $0 }, 3)
    }
}
