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
final class CoreSlots: Sendable {
    private struct PartWork {
        var bytesLeft: Int
        var bytesDone = 0
        var seconds = 0.0
    }

    private struct Slots {
        var count: Int
        var free: Int
        var waiting: [(ticket: Int, part: Int)] = []
        var nextTicket = 0
        var granted: Set<Int> = []
        var parts: [Int: PartWork] = [:]
        var stepsDone = 0

        /// Estimated compression seconds part `part` has left; higher runs first.
        func urgency(_ part: Int) -> Double {
            guard let work = parts[part] else { return 0 }
            if work.bytesDone > 0 { return Double(work.bytesLeft) * work.seconds / Double(work.bytesDone) }
            let measured = parts.values.filter { $0.bytesDone > 0 }
            let done = measured.reduce(0) { $0 + $1.bytesDone }
            // Before any part has a figure, any common rate will do: bytes left decide.
            let rate = done > 0 ? measured.reduce(0.0) { $0 + $1.seconds } / Double(done) : 1e-7
            return Double(work.bytesLeft) * rate
        }

        func pickMostUrgent(_ candidates: [Int]) -> Int? {
            var best: (position: Int, urgency: Double, part: Int)?
            for (position, part) in candidates.enumerated() {
                let u = urgency(part)
                if let b = best, u < b.urgency || (u == b.urgency && part >= b.part) { continue }
                best = (position, u, part)
            }
            return best?.position
        }
    }

    private let state: Monitor<Slots>

    init(count: Int) {
        state = Monitor(Slots(count: max(1, count), free: max(1, count)))
    }

    /// Sets the number of slots; only before any step has run.
    func resize(to newCount: Int) {
        state.withLock {
            precondition($0.free == $0.count && $0.waiting.isEmpty, "resized while in use")
            $0.count = max(1, newCount)
            $0.free = $0.count
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
        let bypass = state.withLock { slots in
            let open = slots.parts.keys.sorted()
            return slots.pickMostUrgent(open).map { open[$0] } == part
        }
        if bypass {
            defer { state.withLock { $0.stepsDone += 1 } }
            return try body()
        }
        return try run(part: part, body)
    }

    /// Steps waiting for a slot.
    var waitingSteps: Int { state.withLock { $0.waiting.count } }

    /// Steps finished so far, and what the slots hold now: the stall watchdog's view.
    var activity: (count: Int, detail: String) {
        state.withLock { ($0.stepsDone, "\($0.count - $0.free) of \($0.count) cores busy, \($0.waiting.count) steps waiting") }
    }

    /// Records that part `part` will compress about `bytes` bytes in all.
    func expect(part: Int, bytes: Int) {
        state.withLock { $0.parts[part] = PartWork(bytesLeft: bytes) }
    }

    /// Records that `bytes` of part `part` took `seconds` to compress.
    func compressed(part: Int, bytes: Int, seconds: Double) {
        state.withLock { slots in
            guard var work = slots.parts[part] else { return }
            work.bytesLeft = max(0, work.bytesLeft - bytes)
            work.bytesDone += bytes
            work.seconds += seconds
            slots.parts[part] = work
        }
    }

    /// Forgets a part whose bytes have all been compressed.
    func finished(part: Int) {
        state.withLock { $0.parts[part] = nil }
    }

    /// Position in `candidates` (part numbers) of the most urgent one, ties going to the
    /// lower part, then to the first in line.
    func mostUrgent(of candidates: [Int]) -> Int? {
        state.withLock { $0.pickMostUrgent(candidates) }
    }

    /// Takes a slot, or queues for one. Slots are handed over, never raced for: `release`
    /// picks the most urgent waiter and grants it the slot it frees, so a waiter sleeps on
    /// its own grant alone. Nothing it waits on depends on urgency, which `expect`,
    /// `compressed` and `finished` change at any moment; an earlier version had waiters
    /// re-read urgency themselves and lost a wakeup when it changed between their checks
    /// (every slot free, every step asleep).
    private func acquire(part: Int) {
        TestHooks.jitter()
        // Waiters exist only while no slot is free: release hands a freed slot to one.
        let ticket: Int? = state.withLock { slots in
            if slots.free > 0 {
                slots.free -= 1
                return nil
            }
            defer { slots.nextTicket += 1 }
            slots.waiting.append((slots.nextTicket, part))
            return slots.nextTicket
        }
        // A grant made between the two locked steps stays in `granted`, so none is lost.
        guard let ticket else { return }
        state.wait { $0.granted.remove(ticket).map { _ in () } }
    }

    private func release() {
        defer { TestHooks.jitter() }
        state.update { slots in
            slots.stepsDone += 1
            guard let position = slots.pickMostUrgent(slots.waiting.map(\.part)) else {
                slots.free += 1
                return
            }
            slots.granted.insert(slots.waiting.remove(at: position).ticket)
        }
    }
}
