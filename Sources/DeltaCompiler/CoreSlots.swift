import Foundation

/// Lets at most `count` CPU-bound steps run at once and, when a core frees, gives it to the
/// step whose part has the most compression time left.
///
/// A delta's wall time is set by its slowest part: its xz stream is serial, and it cannot
/// start before its first object is encoded. Left to the kernel, a part of cheap,
/// mostly-zero patches competes for the CPU with the encoding of a 7 MB binary that another
/// part's compressor is waiting for, and that part finishes seconds after everything else.
/// So encoding and compression take a slot here, step by step (one object, or one slice of
/// a part's bytes), and the part furthest from done goes first. A part's time left is its
/// bytes not yet compressed times the seconds per byte its stream has taken so far (the mean
/// of the other parts' until it has a figure of its own).
///
/// Scheduling only: which part holds what, and in what order, is fixed before any of this
/// runs, so the output never depends on it.
final class CoreSlots: @unchecked Sendable {
    private struct PartWork {
        var bytesLeft: Int
        var bytesDone = 0
        var seconds = 0.0
    }

    private let state = NSCondition()
    private var free: Int
    private var waiting: [(ticket: Int, part: Int)] = []
    private var nextTicket = 0
    private var granted: Set<Int> = []
    private var parts: [Int: PartWork] = [:]
    private var count: Int
    private var stepsDone = 0

    init(count: Int) {
        self.count = max(1, count)
        free = self.count
    }

    /// Sets the number of slots; only before any step has run.
    func resize(to newCount: Int) {
        state.withLock {
            precondition(free == count && waiting.isEmpty, "resized while in use")
            count = max(1, newCount)
            free = count
        }
    }

    /// Runs `body` once a slot is free and no waiting step has a more urgent part.
    func run<T>(part: Int, _ body: () throws -> T) rethrows -> T {
        acquire(part: part)
        defer { release() }
        return try body()
    }

    /// Runs a compression step of part `part`: at once if that part is the most urgent one,
    /// otherwise as `run` does. The most urgent part's stream must never wait for an
    /// encoding step to end (one can take seconds); it runs beside them, and since encoding
    /// threads run at a lower priority (`WorkerThreads.niceness`), the kernel gives it the core.
    func runCompression<T>(part: Int, _ body: () throws -> T) rethrows -> T {
        let bypass = state.withLock {
            let open = parts.keys.sorted()
            return pickMostUrgent(open).map { open[$0] } == part
        }
        if bypass {
            defer { state.withLock { stepsDone += 1 } }
            return try body()
        }
        return try run(part: part, body)
    }

    /// Steps waiting for a slot.
    var waitingSteps: Int { state.withLock { waiting.count } }

    /// Steps finished so far, and what the slots hold now: the stall watchdog's view.
    var activity: (count: Int, detail: String) {
        state.withLock { (stepsDone, "\(count - free) of \(count) cores busy, \(waiting.count) steps waiting") }
    }

    /// Records that part `part` will compress about `bytes` bytes in all.
    func expect(part: Int, bytes: Int) {
        state.lock()
        parts[part] = PartWork(bytesLeft: bytes)
        state.unlock()
    }

    /// Records that `bytes` of part `part` took `seconds` to compress.
    func compressed(part: Int, bytes: Int, seconds: Double) {
        state.lock()
        if var work = parts[part] {
            work.bytesLeft = max(0, work.bytesLeft - bytes)
            work.bytesDone += bytes
            work.seconds += seconds
            parts[part] = work
        }
        state.unlock()
    }

    /// Forgets a part whose bytes have all been compressed.
    func finished(part: Int) {
        state.lock()
        parts[part] = nil
        state.unlock()
    }

    /// Estimated compression seconds part `part` has left; higher runs first. Call locked.
    private func urgency(_ part: Int) -> Double {
        guard let work = parts[part] else { return 0 }
        if work.bytesDone > 0 { return Double(work.bytesLeft) * work.seconds / Double(work.bytesDone) }
        let measured = parts.values.filter { $0.bytesDone > 0 }
        let done = measured.reduce(0) { $0 + $1.bytesDone }
        // Before any part has a figure, any common rate will do: bytes left decide.
        let rate = done > 0 ? measured.reduce(0.0) { $0 + $1.seconds } / Double(done) : 1e-7
        return Double(work.bytesLeft) * rate
    }

    /// Position in `candidates` (part numbers) of the most urgent one, ties going to the
    /// lower part, then to the first in line.
    func mostUrgent(of candidates: [Int]) -> Int? {
        state.lock()
        defer { state.unlock() }
        return pickMostUrgent(candidates)
    }

    private func pickMostUrgent(_ candidates: [Int]) -> Int? {
        var best: (position: Int, urgency: Double, part: Int)?
        for (position, part) in candidates.enumerated() {
            let u = urgency(part)
            if let b = best, u < b.urgency || (u == b.urgency && part >= b.part) { continue }
            best = (position, u, part)
        }
        return best?.position
    }

    /// Takes a slot, or queues for one. Slots are handed over, never raced for: `release`
    /// picks the most urgent waiter and grants it the slot it frees, so a waiter sleeps on
    /// its own grant alone. Nothing it waits on depends on urgency, which `expect`,
    /// `compressed` and `finished` change at any moment; an earlier version had waiters
    /// re-read urgency themselves and lost a wakeup when it changed between their checks
    /// (every slot free, every step asleep).
    private func acquire(part: Int) {
        TestHooks.jitter()
        state.lock()
        defer { state.unlock() }
        // Waiters exist only while no slot is free: release hands a freed slot to one.
        if free > 0 {
            free -= 1
            return
        }
        let ticket = nextTicket
        nextTicket += 1
        waiting.append((ticket, part))
        while !granted.contains(ticket) { state.wait() }
        granted.remove(ticket)
    }

    private func release() {
        defer { TestHooks.jitter() }
        state.lock()
        defer { state.unlock() }
        stepsDone += 1
        guard let position = pickMostUrgent(waiting.map(\.part)) else {
            free += 1
            return
        }
        granted.insert(waiting.remove(at: position).ticket)
        state.broadcast()
    }
}
