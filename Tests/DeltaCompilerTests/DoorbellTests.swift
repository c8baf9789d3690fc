import Foundation
import XCTest
@testable import DeltaCompiler

/// The packer sleeps on a doorbell instead of polling, so a ring must never be lost.
final class DoorbellTests: XCTestCase {
    func testARingBeforeTheWaitIsNotLost() {
        let bell = Doorbell()
        let seen = bell.count
        bell.ring()
        bell.wait(after: seen)  // returns at once: the ring came after `seen` was read
        XCTAssertEqual(bell.count, seen + 1)
    }

    func testARingFromAnotherThreadWakesTheWaiter() {
        let bell = Doorbell()
        let woke = expectation(description: "waiter woke")
        let seen = bell.count
        Thread {
            bell.wait(after: seen)
            woke.fulfill()
        }.start()
        Thread.sleep(forTimeInterval: 0.05)
        bell.ring()
        wait(for: [woke], timeout: 10)
    }

    func testResultsArriveInAnyOrderAndAreTakenByIndex() {
        let bell = Doorbell()
        let results = OrderedResults<Int>(count: 8, doorbell: bell)
        DispatchQueue.concurrentPerform(iterations: 8) { i in results.put(7 - i, .success((7 - i) * 10)) }
        XCTAssertEqual((0..<8).map { try? results.take($0).get() }, (0..<8).map { $0 * 10 })
        XCTAssertNil(results.poll(3), "each result is taken once")
        XCTAssertEqual(bell.count, 8, "each delivery rings")
    }
}
