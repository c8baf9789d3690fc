import CLinuxShim
import Foundation

/// A fixed set of threads that run `work(index)` for queued indices. Each index is queued
/// in a lane (its part); a free thread serves the lane whose part `slots` finds most
/// urgent, first queued first within a lane, and runs the work in one of its slots.
/// Dedicated threads, rather than a pool's, carry the nice value and take it with them when
/// they end.
final class WorkerThreads: @unchecked Sendable {
    /// Nice value of the workers, relative to the default of 0: a compression step that must
    /// not wait runs beside them and takes their core (`CoreSlots.runCompression`).
    static let niceness: Int32 = 15

    private let state = NSCondition()
    private var lanes: [Int: [Int]] = [:]
    private var stopped = false
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
        state.lock()
        defer { state.unlock() }
        while lanes.isEmpty && !stopped { state.wait() }
        if stopped { return nil }
        let queued = lanes.keys.sorted()
        let lane = queued[slots.mostUrgent(of: queued)!]
        let index = lanes[lane]!.removeFirst()
        if lanes[lane]!.isEmpty { lanes[lane] = nil }
        return (index, lane)
    }

    /// Queues `index` in `lane`, after those already queued there.
    func enqueue(_ index: Int, lane: Int) {
        state.lock()
        lanes[lane, default: []].append(index)
        state.signal()
        state.unlock()
    }

    /// Stops the workers once their current item is done, and waits for them.
    func stop() {
        state.lock()
        stopped = true
        state.broadcast()
        state.unlock()
        exited.wait()
    }
}
