import DeltaFormat
import Foundation
import XCTest
@testable import DeltaCompiler

/// The memory model grows with settings, not with file sizes beyond what bsdiff takes, and
/// picks the most jobs that fit.
final class MemoryModelTests: XCTestCase {
    private func model(dict: UInt32 = 8 << 20, bsdiff: (UInt64, UInt64)? = nil, objects: Int = 1_000) -> MemoryModel {
        var options = DeltaOptions()
        options.xzSettings = XZ.Settings(preset: XZ.defaultPreset, dictionarySize: dict)
        return MemoryModel(options: options, largestBsdiff: bsdiff.map { (old: $0.0, new: $0.1) }, objects: objects)
    }

    func testTheEncoderTermIsLiblzmasFigure() {
        // preset 8 with an 8 MiB dictionary: about 94 MiB; with ostree's 32 MiB, about 370 MiB.
        XCTAssertEqual(Double(model().xzEncoder) / Double(1 << 20), 94, accuracy: 6)
        XCTAssertEqual(Double(model(dict: 32 << 20).xzEncoder) / Double(1 << 20), 370, accuracy: 20)
    }

    func testEachJobAddsTheSameAmount() {
        let m = model(bsdiff: (7_000_000, 7_100_000))
        let step = m.estimate(jobs: 2) - m.estimate(jobs: 1)
        XCTAssertEqual(m.estimate(jobs: 3) - m.estimate(jobs: 2), step)
        XCTAssertEqual(step, m.xzEncoder + MemoryModel.perJobBuffers + m.largestBsdiff)
    }

    func testTheMostJobsThatFitAreChosen() {
        let m = model()
        XCTAssertEqual(m.jobs(fitting: m.estimate(jobs: 3), wanted: 8), 3)
        XCTAssertEqual(m.jobs(fitting: m.estimate(jobs: 3) - 1, wanted: 8), 2)
        XCTAssertEqual(m.jobs(fitting: .max, wanted: 4), 4)
        XCTAssertNil(m.jobs(fitting: m.estimate(jobs: 1) - 1, wanted: 4))
    }

    func testTheCgroupLimitIsTheTightestLevel() throws {
        let root = NSTemporaryDirectory() + "memcg-\(UUID().uuidString)"
        let fm = FileManager.default
        try fm.createDirectory(atPath: root + "/ci/job", withIntermediateDirectories: true)
        try "max\n".write(toFile: root + "/ci/job/memory.max", atomically: true, encoding: .utf8)
        try "2147483648\n".write(toFile: root + "/ci/memory.max", atomically: true, encoding: .utf8)
        try "0::/ci/job\n".write(toFile: root + "/self", atomically: true, encoding: .utf8)
        XCTAssertEqual(MemoryModel.cgroupLimit(root: root, selfCgroup: root + "/self"), 2_147_483_648)
        try "0::/\n".write(toFile: root + "/self", atomically: true, encoding: .utf8)
        XCTAssertNil(MemoryModel.cgroupLimit(root: root + "/none", selfCgroup: root + "/self"))
        try? fm.removeItem(atPath: root)
    }
}
