import Foundation
import XCTest
@testable import DeltaCompiler

/// The default --jobs follows the CPUs the process may use, not the host's count.
final class CPUBudgetTests: XCTestCase {
    func testAQuotaOfTwoCPUsOnASixtyFourCoreHostGivesTwo() {
        XCTAssertEqual(CPUBudget.available(online: 64, affinity: 64, quotas: ["200000 100000"]), 2)
    }

    func testAFractionalQuotaRoundsUp() {
        XCTAssertEqual(CPUBudget.available(online: 64, affinity: nil, quotas: ["150000 100000"]), 2)
        XCTAssertEqual(CPUBudget.available(online: 8, affinity: nil, quotas: ["10000 100000"]), 1)
    }

    func testTheAffinityMaskLimits() {
        XCTAssertEqual(CPUBudget.available(online: 64, affinity: 3, quotas: ["max 100000"]), 3)
    }

    func testTheTightestLevelWins() {
        XCTAssertEqual(CPUBudget.available(online: 16, affinity: 12, quotas: ["max 100000", "400000 100000", "800000 100000"]), 4)
    }

    func testNoLimitsGiveTheOnlineCount() {
        XCTAssertEqual(CPUBudget.available(online: 6, affinity: nil, quotas: ["max 100000", "garbage"]), 6)
    }

    func testQuotasAreReadUpTheCgroupTree() throws {
        let root = NSTemporaryDirectory() + "cgroup-\(UUID().uuidString)"
        let fm = FileManager.default
        try fm.createDirectory(atPath: root + "/ci/job", withIntermediateDirectories: true)
        try "max 100000\n".write(toFile: root + "/ci/job/cpu.max", atomically: true, encoding: .utf8)
        try "200000 100000\n".write(toFile: root + "/ci/cpu.max", atomically: true, encoding: .utf8)
        try "0::/ci/job\n".write(toFile: root + "/self-cgroup", atomically: true, encoding: .utf8)
        let quotas = CPUBudget.cgroupQuotas(root: root, selfCgroup: root + "/self-cgroup")
        XCTAssertEqual(quotas, ["max 100000", "200000 100000"])
        XCTAssertEqual(CPUBudget.available(online: 64, affinity: 64, quotas: quotas), 2)
        try? fm.removeItem(atPath: root)
    }

    /// Run under an affinity of one CPU, the real process reports one (taskset is util-linux's).
    func testTheProcessAffinityIsRead() throws {
        guard let count = CPUBudget.affinityCount() else { throw XCTSkip("sched_getaffinity is unavailable") }
        XCTAssertGreaterThanOrEqual(count, 1)
        XCTAssertLessThanOrEqual(CPUBudget.current, count)
    }
}
