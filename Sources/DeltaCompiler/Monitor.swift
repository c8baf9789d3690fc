import Foundation

/// State that several threads share, and a condition to wait for a change of it: the one
/// lock type of the package. Not the standard library's `Mutex`: its lock lives in the
/// prebuilt Synchronization module, which ThreadSanitizer does not see, so TSan reported
/// races between two holders of one `Mutex`. NSCondition locks a pthread mutex, whose calls
/// TSan intercepts.
///
/// Values put in are handed over: the thread that stored one keeps no reference it uses
/// again, so a value of a non-Sendable type (an encoder's output, a stream of a file) is
/// only ever touched by one thread at a time, under the lock.
public final class Monitor<State>: @unchecked Sendable {  // @unchecked: `state` is touched only with `condition` locked
    private let condition = NSCondition()
    private var state: State

    public init(_ state: State) { self.state = state }

    /// Runs `body` on the state, locked.
    public func withLock<R>(_ body: (inout State) throws -> R) rethrows -> R {
        condition.lock()
        defer { condition.unlock() }
        return try body(&state)
    }

    /// As `withLock`, then wakes every waiter (or one, if every waiter waits for the same
    /// thing and one is enough): for a change somebody may be waiting for.
    public func update<R>(wakingOne: Bool = false, _ body: (inout State) throws -> R) rethrows -> R {
        condition.lock()
        defer {
            if wakingOne { condition.signal() } else { condition.broadcast() }
            condition.unlock()
        }
        return try body(&state)
    }

    /// Waits until `ready` returns a value, checking it locked after each `update`.
    public func wait<R>(for ready: (inout State) -> R?) -> R {
        condition.lock()
        defer { condition.unlock() }
        while true {
            if let result = ready(&state) { return result }
            condition.wait()
        }
    }

    /// As `wait(for:)`, but gives up at `deadline` with nil.
    public func wait<R>(until deadline: Date, for ready: (inout State) -> R?) -> R? {
        condition.lock()
        defer { condition.unlock() }
        while true {
            if let result = ready(&state) { return result }
            if !condition.wait(until: deadline) { return ready(&state) }
        }
    }
}
