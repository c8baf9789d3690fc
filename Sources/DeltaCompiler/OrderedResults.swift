import Foundation

/// Results that worker threads deliver in any order and a consumer takes by index.
final class OrderedResults<Value>: @unchecked Sendable {
    private let ready = NSCondition()
    private var slots: [Result<Value, Error>?]
    private var puts = 0

    init(count: Int) {
        slots = Array(repeating: nil, count: count)
    }

    func put(_ index: Int, _ result: Result<Value, Error>) {
        ready.lock()
        slots[index] = result
        puts += 1
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

    /// Result `index` if it has arrived, releasing it; nil otherwise.
    func poll(_ index: Int) -> Result<Value, Error>? {
        ready.lock()
        defer { ready.unlock() }
        let result = slots[index]
        slots[index] = nil
        return result
    }

    /// How many results have arrived so far.
    var arrivals: Int { ready.withLock { puts } }

    /// Waits until more than `arrivals` results have arrived, or `seconds` have passed.
    func waitForArrival(after arrivals: Int, seconds: Double) {
        ready.lock()
        defer { ready.unlock() }
        let deadline = Date(timeIntervalSinceNow: seconds)
        while puts == arrivals && ready.wait(until: deadline) {}
    }
}
