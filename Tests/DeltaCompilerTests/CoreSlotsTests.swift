import Foundation
import XCTest
@testable import DeltaCompiler

/// The order in which waiting steps get a core. Scheduling never changes a delta's bytes
/// (the --jobs byte-identity test shows that); these pin down who goes first.
final class CoreSlotsTests: XCTestCase {
    /// Holds the only slot until `release` is signalled, so that others queue behind it.
    private func occupy(_ slots: CoreSlots, part: Int) -> (started: DispatchSemaphore, release: DispatchSemaphore) {
        let started = DispatchSemaphore(value: 0), release = DispatchSemaphore(value: 0)
        Thread { slots.run(part: part) { started.signal(); release.wait() } }.start()
        started.wait()
        return (started, release)
    }

    /// The order in which steps of `parts`, queued in that order behind a busy slot, run.
    private func runOrder(of parts: [Int], in slots: CoreSlots) -> [Int] {
        let holder = occupy(slots, part: parts[0])
        let order = Monitor<[Int]>([])
        let done = DispatchGroup()
        for part in parts {
            let before = slots.waitingSteps
            done.enter()
            Thread {
                slots.run(part: part) { order.withLock { $0.append(part) } }
                done.leave()
            }.start()
            while slots.waitingSteps == before { Thread.sleep(forTimeInterval: 0.001) }
        }
        holder.release.signal()
        done.wait()
        return order.withLock { $0 }
    }

    func testTheWaitingStepWithTheMostCompressionLeftRunsFirst() {
        let slots = CoreSlots(count: 1)
        slots.expect(part: 0, bytes: 1_000)
        slots.expect(part: 1, bytes: 9_000)
        // Part 0 queues first, but part 1 has nine times the bytes left at the same rate.
        XCTAssertEqual(runOrder(of: [0, 1], in: slots), [1, 0])
    }

    func testMeasuredSpeedOutweighsBytesLeft() {
        let slots = CoreSlots(count: 1)
        slots.expect(part: 0, bytes: 2_000)
        slots.expect(part: 1, bytes: 2_000)
        // Part 0 has more bytes left but compresses ten times faster per byte.
        slots.compressed(part: 0, bytes: 500, seconds: 0.01)
        slots.compressed(part: 1, bytes: 1_000, seconds: 0.2)
        XCTAssertEqual(runOrder(of: [0, 1], in: slots), [1, 0])
    }

    func testTheMostUrgentPartsCompressionDoesNotWaitForASlot() {
        let slots = CoreSlots(count: 1)
        slots.expect(part: 0, bytes: 1_000)
        slots.expect(part: 1, bytes: 9_000)
        let holder = occupy(slots, part: 1)
        // The only slot is busy (an encoding step, say); part 1's stream runs beside it,
        // part 0's waits.
        var ranUrgent = false
        slots.runCompression(part: 1) { ranUrgent = true }
        XCTAssertTrue(ranUrgent)
        let lessUrgent = DispatchSemaphore(value: 0)
        Thread { slots.runCompression(part: 0) { _ = lessUrgent.signal() } }.start()
        var ranEarly = false
        while slots.waitingSteps == 0 && !ranEarly { ranEarly = lessUrgent.wait(timeout: .now() + 0.001) == .success }
        XCTAssertFalse(ranEarly, "part 0's step ran while the slot was taken")
        holder.release.signal()
        if !ranEarly { XCTAssertEqual(lessUrgent.wait(timeout: .now() + 5), .success) }
    }

    func testFinishedPartsNoLongerCount() {
        let slots = CoreSlots(count: 1)
        slots.expect(part: 0, bytes: 1_000)
        slots.expect(part: 1, bytes: 9_000)
        XCTAssertEqual(slots.mostUrgent(of: [0, 1]), 1)
        slots.finished(part: 1)
        XCTAssertEqual(slots.mostUrgent(of: [0, 1]), 0)
        // Equal urgency goes to the lower part.
        slots.finished(part: 0)
        XCTAssertEqual(slots.mostUrgent(of: [1, 0]), 1)
    }

    /// Urgency changes while steps wait must never leave a slot free with every step asleep.
    /// Steps of four parts queue for two slots while another thread keeps re-ranking the
    /// parts, as compressors do when they report progress. The version that let waiters
    /// re-read urgency themselves hung here within a few hundred rounds.
    func testUrgencyChangesWhileStepsWaitNeverStrandAFreeSlot() {
        let slots = CoreSlots(count: 2)
        for part in 0..<4 { slots.expect(part: part, bytes: 1_000 * (part + 1)) }
        let stepsPerThread = 3_000, threads = 6
        let done = DispatchGroup()
        let stop = ManagedAtomicFlag()
        for t in 0..<threads {
            done.enter()
            Thread {
                for i in 0..<stepsPerThread { slots.run(part: (t + i) % 4) {} }
                done.leave()
            }.start()
        }
        let reranker = Thread {
            var round = 0
            while !stop.isSet {
                round += 1
                let part = round % 4
                switch round % 3 {
                case 0: slots.compressed(part: part, bytes: 7, seconds: Double(round % 11) * 1e-4)
                case 1: slots.finished(part: part)
                default: slots.expect(part: part, bytes: (round * 7_919) % 50_000)
                }
            }
        }
        reranker.start()
        let finished = done.wait(timeout: .now() + 60)
        stop.set()
        XCTAssertEqual(finished, .success, "steps still waiting after 60 s: \(slots.waitingSteps) queued")
    }
}

/// A flag one thread sets and another polls.
private final class ManagedAtomicFlag: Sendable {
    private let value = Monitor(false)
    var isSet: Bool { value.withLock { $0 } }
    func set() { value.withLock { $0 = true } }
}
