import CLinuxShim
import Foundation

/// A fixed set of threads that run `work(index)` for queued indices. Each index is queued
/// in a lane (its part); a free thread serves the lane whose part `slots` finds most
/// urgent, first queued first within a lane, and runs the work in one of its slots.
/// Dedicated threads, rather than a pool's, carry the nice value and take it with them when
/// they end.
final class WorkerThreads: Sendable {
    /// Nice value of the workers, relative to the default of 0: a compression step that must
    /// not wait runs beside them and takes their core (`CoreSlots.runCompression`).
    static let niceness: Int32 = 15

    private struct Queue {
        var lanes: [Int: [Int]] = [:]
        var stopped = false
    }

    private let queue = Monitor(Queue())
    private let exited = DispatchGroup()
    private let slots: CoreSlots

    init(count: Int, slots: CoreSlots, work: @escaping @Sendable (Int) -> Void) {
        self.slots = slots
        for _ in 0..<max(1, count) {
            exited.enter()
            let thread = Thread { [self] in
                _ = deltagen_set_thread_nice(WorkerThreads.niceness)
                while let (index, lane) = take() { slots.run(part: lane) { work(index) } }
                exited.leave()
            }
            thread.name = "deltagen.encode"
            thread.start()
        }
    }

    private func take() -> (index: Int, lane: Int)? {
        let slots = self.slots
        return queue.wait { queue -> (index: Int, lane: Int)?? in
            if queue.stopped { return .some(nil) }
            if queue.lanes.isEmpty { return nil }
            let queued = queue.lanes.keys.sorted()
            let lane = queued[slots.mostUrgent(of: queued)!]
            let index = queue.lanes[lane]!.removeFirst()
            if queue.lanes[lane]!.isEmpty { queue.lanes[lane] = nil }
            return .some((index, lane))
        }
    }

    /// Queues `index` in `lane`, after those already queued there.
    func enqueue(_ index: Int, lane: Int) {
        queue.update(wakingOne: true) { $0.lanes[lane, default: []].append(index) }
    }

    /// Stops the workers once their current item is done, and waits for them.
    func stop() {
        queue.update { $0.stopped = true }
        exited.wait()
    }
}
