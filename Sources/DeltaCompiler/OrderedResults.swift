import Foundation

/// Results that worker threads deliver in any order and one consumer takes in index order.
final class OrderedResults<Value>: @unchecked Sendable {
    private let ready = NSCondition()
    private var slots: [Result<Value, Error>?]

    init(count: Int) {
        slots = Array(repeating: nil, count: count)
    }

    func put(_ index: Int, _ result: Result<Value, Error>) {
        ready.lock()
        slots[index] = result
        ready.broadcast()
        ready.unlock()
    }

    /// Waits for result `index`, and releases it: each index is taken once.
    func take(_ index: Int) -> Result<Value, Error> {
        ready.lock()
        defer { ready.unlock() }
        while slots[index] == nil { ready.wait() }
        let result = slots[index]!
        slots[index] = nil
        return result
    }
}
