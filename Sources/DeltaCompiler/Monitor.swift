import Foundation

/// State that several threads share, and a condition to wait for a change of it: the one
/// lock type of the pipeline for state that somebody waits on (`Mutex` guards the rest).
///
/// Values put in are handed over: the thread that stored one keeps no reference it uses
/// again, so a value of a non-Sendable type (an encoder's output, a stream of a file) is
/// only ever touched by one thread at a time, under the lock.
final class Monitor<State>: @unchecked Sendable {  // @unchecked: `state` is touched only with `condition` locked
    private let condition = NSCondition()
    private var state: State

    init(_ state: State) { self.state = state }

    /// Runs `body` on the state, locked.
    func withLock<R>(_ body: (inout State) throws -> R) rethrows -> R {
        condition.lock()
        defer { condition.unlock() }
        return try body(&state)
    }

    /// As `withLock`, then wakes every waiter (or one, if every waiter waits for the same
    /// thing and one is enough): for a change somebody may be waiting for.
    func update<R>(wakingOne: Bool = false, _ body: (inout State) throws -> R) rethrows -> R {
        condition.lock()
        defer {
            if wakingOne { condition.signal() } else { condition.broadcast() }
            condition.unlock()
        }
        return try body(&state)
    }

    /// Waits until `ready` returns a value, checking it locked after each `update`.
    func wait<R>(for ready: (inout State) -> R?) -> R {
        condition.lock()
        defer { condition.unlock() }
        while true {
            if let result = ready(&state) { return result }
            condition.wait()
        }
    }

    /// As `wait(for:)`, but gives up at `deadline` with nil.
    func wait<R>(until deadline: Date, for ready: (inout State) -> R?) -> R? {
        condition.lock()
        defer { condition.unlock() }
        while true {
            if let result = ready(&state) { return result }
            if !condition.wait(until: deadline) { return ready(&state) }
        }
    }
}

/// A count of events that may let a waiting thread move on. The part packer waits on one
/// instead of polling: workers ring it when an object is encoded, compressors when a part's
/// slot frees or its backlog drains below its limit.
final class Doorbell: Sendable {
    private let rings = Monitor(0)

    /// Rings so far; pass it to `wait(after:)`.
    var count: Int { rings.withLock { $0 } }

    func ring() { rings.update { $0 += 1 } }

    /// Returns once the bell has rung more than `count` times in all.
    func wait(after count: Int) {
        rings.wait { $0 > count ? () : nil }
    }
}
