import DeltaFormat
import Foundation
import XCTest
@testable import DeltaPlanning

/// The three cases of issue #16 where fioctl's client says nothing because the server decides:
/// each is checked against the fioctl text it ends in.
final class PlanEdgeCaseTests: XCTestCase {
    /// fioctl's `errors.New` for an empty from-list (subcommands/targets/deltas.go).
    let fioctlNothingToDo = "No Targets found to generate deltas for."

    func testEveryFromUnknownStillWarnsPerVersion() throws {
        // 4 and 6 exist on neither board; 5 only on rpi, so the imx run has nothing either.
        let plan = try Planner.draft(to: 9, froms: [6, 4], targets: try Fixtures.targetsFile(), hardwareID: nil)
        XCTAssertEqual(plan.groups, [])
        XCTAssertEqual(plan.warnings, [
            "version 6 has no Target for hardware ID imx; skipped",
            "version 4 has no Target for hardware ID imx; skipped",
            "hardware ID imx has no from-version to build a delta from",
            "version 6 has no Target for hardware ID rpi; skipped",
            "version 4 has no Target for hardware ID rpi; skipped",
            "hardware ID rpi has no from-version to build a delta from",
        ])
        XCTAssertThrowsError(try plan.requireDeltas()) { XCTAssertEqual("\($0)", self.fioctlNothingToDo) }
        // resolve() keeps its old contract: the same error, for callers that need no warnings.
        XCTAssertThrowsError(try Planner.resolve(to: 9, froms: [6, 4], targets: try Fixtures.targetsFile(), hardwareID: nil)) {
            XCTAssertEqual("\($0)", self.fioctlNothingToDo)
        }
        // With --hw-id the per-version warnings come from the filter, before the same error.
        let (kept, warnings) = try Planner.filter(to: 9, froms: [6, 4], hardwareID: "rpi", targets: try Fixtures.targetsFile())
        XCTAssertEqual(kept, [])
        XCTAssertEqual(warnings, ["version 6 has no Target for hardware ID rpi; skipped",
                                  "version 4 has no Target for hardware ID rpi; skipped"])
    }

    func testUnknownBoardSaysTheToVersionHasNoTargetForIt() throws {
        let targets = try Fixtures.targetsFile()
        XCTAssertThrowsError(try Planner.filter(to: 9, froms: [7, 5], hardwareID: "x86", targets: targets)) {
            XCTAssertEqual($0 as? PlanError, .noTargetForTo(version: 9, hardwareID: "x86"))
            XCTAssertEqual("\($0)", "no OSTree Target has version 9 and hardware ID x86")
        }
        // A known board without TO: imx has no 5.
        XCTAssertThrowsError(try Planner.filter(to: 5, froms: [3], hardwareID: "imx", targets: targets)) {
            XCTAssertEqual("\($0)", "no OSTree Target has version 5 and hardware ID imx")
        }
        // A known board with TO filters as before.
        XCTAssertEqual(try Planner.filter(to: 9, froms: [7, 5, 3], hardwareID: "imx", targets: targets).kept, [7, 3])
    }

    func testCustomVersionIsNeverAFromOrATo() throws {
        // fioctl reads a non-numeric custom.version as -1, and keeps a -1 from the status file
        // (it is below TO); it must not find the "custom" Target.
        let entries = [
            Fixtures.target("rpi-lmp-custom", "custom", "rpi", commit: Fixtures.commit(0x50)),
            Fixtures.target("rpi-lmp-7", "7", "rpi", commit: Fixtures.commit(7)),
            Fixtures.target("rpi-lmp-9", "9", "rpi", commit: Fixtures.commit(9)),
        ]
        let targets = try TargetsFile(json: Data("""
            {"signed": {"targets": {\(entries.joined(separator: ",\n"))}}}
            """.utf8))
        let custom = try XCTUnwrap(targets.targets.first { $0.version == "custom" })
        XCTAssertEqual(custom.versionNumber, -1, "fioctl's reading")
        XCTAssertFalse(custom.hasNumericVersion)

        let status = try FleetStatus(json: Data("""
            {"tags": [{"name": "promoted", "targets": [{"version": -1, "devices": 2}, {"version": 7, "devices": 1}]}]}
            """.utf8))
        let froms = try Planner.fioctlVersions(to: 9, explicit: [], tag: "promoted", status: status)
        XCTAssertEqual(froms, [-1, 7], "the selection stays fioctl's")
        XCTAssertEqual(Planner.dryRunText(to: 9, froms: froms, hardwareID: nil),
                       "Dry run: Would generate static deltas for Target versions:\n   -1 -> 9\n   7 -> 9\n")

        let plan = try Planner.resolve(to: 9, froms: froms, targets: targets, hardwareID: nil)
        XCTAssertEqual(plan.groups.flatMap { $0.froms.map(\.name) }, ["rpi-lmp-7"])
        XCTAssertEqual(plan.warnings, ["version -1 has no Target for hardware ID rpi; skipped"])
        XCTAssertEqual(Planner.filter(froms: froms, hardwareID: "rpi", targets: targets).kept, [7])

        // Only the custom Target left: fioctl's empty-list text.
        XCTAssertThrowsError(try Planner.resolve(to: 9, froms: [-1], targets: targets, hardwareID: nil)) {
            XCTAssertEqual("\($0)", self.fioctlNothingToDo)
        }
        // Nor is it a to: "plan -1" finds no Target.
        XCTAssertThrowsError(try Planner.resolve(to: -1, froms: [-2], targets: targets, hardwareID: nil)) {
            XCTAssertEqual("\($0)", "no OSTree Target has version -1")
        }
        XCTAssertEqual(targets.hardwareIDs(withVersion: -1), [])
    }
}

final class MatrixBatchingTests: XCTestCase {
    static func hex(_ n: Int) -> String { String(format: "%064x", n) }

    /// One board, TO = `count + 1`, a from for every version 1...count, each its own commit.
    static func plan(deltas count: Int) throws -> Plan {
        let to = count + 1
        let entries = (1...to).map { v in
            Fixtures.target("rpi-lmp-\(v)", "\(v)", "rpi", commit: hex(v), uri: "https://ci.example/builds/\(v)")
        }
        let targets = try TargetsFile(json: Data("{\"signed\": {\"targets\": {\(entries.joined(separator: ",\n"))}}}".utf8))
        return try Planner.resolve(to: to, froms: Array((1...count).reversed()), targets: targets, hardwareID: nil,
                                   tarballURL: try URLTemplate("{uri}/repo.tar"))
    }

    func test300DeltasFitIn256JobsAndEachIsBuiltOnce() throws {
        let plan = try MatrixBatchingTests.plan(deltas: 300)
        let matrix = plan.matrix()
        XCTAssertLessThanOrEqual(matrix.include.count, 256)
        let pairs = matrix.include.flatMap(\.pairs)
        XCTAssertEqual(pairs.count, 300)
        XCTAssertEqual(Set(pairs), Set((1...300).map { "\(MatrixBatchingTests.hex($0))-\(MatrixBatchingTests.hex(301))" }))
        // Runs differ by at most one pair, and each batch entry carries only its name and list.
        let sizes = matrix.include.map { $0.pairs.count }
        XCTAssertLessThanOrEqual(sizes.max()! - sizes.min()!, 1)
        XCTAssertEqual(matrix.include[0].name, "batch 1/256: rpi 300->301 and 1 more")
        XCTAssertNil(matrix.include[0].from)

        // What the workflow reads: one line, the pairs in "only", nothing else per entry.
        let line = try compactJSON(matrix)
        XCTAssertFalse(line.contains("\n"))
        let decoded = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: [[String: Any]]]
        let include = try XCTUnwrap(decoded?["include"])
        XCTAssertEqual(Set(include.flatMap { $0.keys }), ["name", "only"])
        let fromJSON = include.flatMap { ($0["only"] as? String ?? "").split(separator: " ").map(String.init) }
        XCTAssertEqual(fromJSON.count, 300)
        XCTAssertEqual(Set(fromJSON).count, 300)
    }

    func testUpTo256DeltasKeepOneJobPerPair() throws {
        let plan = try MatrixBatchingTests.plan(deltas: 256)
        let matrix = plan.matrix()
        XCTAssertEqual(matrix.include.count, 256)
        XCTAssertTrue(matrix.include.allSatisfy { $0.only == nil && $0.from != nil })
        XCTAssertFalse(try compactJSON(matrix).contains("\"only\""))
        // One more pair switches to batches: 256 jobs, one with two pairs.
        let batched = try MatrixBatchingTests.plan(deltas: 257).matrix()
        XCTAssertEqual(batched.include.count, 256)
        XCTAssertEqual(batched.include.map { $0.pairs.count }.filter { $0 == 2 }.count, 1)
        XCTAssertEqual(Set(batched.include.flatMap(\.pairs)).count, 257)
    }

    func testSmallLimitsBatchToo() throws {
        let matrix = try MatrixBatchingTests.plan(deltas: 10).matrix(maxJobs: 3)
        XCTAssertEqual(matrix.include.map { $0.pairs.count }, [4, 3, 3])
        XCTAssertEqual(matrix.include.flatMap(\.pairs).count, 10)
    }
}
