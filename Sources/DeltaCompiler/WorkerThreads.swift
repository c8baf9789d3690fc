import CLinuxShim
import Foundation

/// A fixed set of threads that run `work(index)` for queued indices, first queued first, at
/// a lower CPU priority than the rest of the process.
///
/// Encoding feeds the part compressors, and a part's compression is the longest serial job
/// of a delta, so the compressors run first and encoding fills the idle time. Dedicated
/// threads, rather than a pool's, carry the nice value and take it with them when they end.
final class WorkerThreads: @unchecked Sendable {
    /// Nice value of the workers, relative to the default of 0.
    static let niceness: Int32 = 15

    private let state = NSCondition()
    private var queue: [Int] = []
    private var head = 0
    private var stopped = false
    private let exited = DispatchGroup()

    init(count: Int, work: @escaping @Sendable (Int) -> Void) {
        for _ in 0..<max(1, count) {
            exited.enter()
            let thread = Thread { [self] in
                _ = deltagen_set_thread_nice(WorkerThreads.niceness)
                while let index = take() { work(index) }
                exited.leave()
            }
            thread.name = "deltagen.encode"
            thread.start()
        }
    }

    private func take() -> Int? {
        state.lock()
        defer { state.unlock() }
        while head == queue.count && !stopped { state.wait() }
        if stopped { return nil }
        head += 1
        return queue[head - 1]
    }

    /// Queues `index` to run after those already queued.
    func enqueue(_ index: Int) {
        state.lock()
        queue.append(index)
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
