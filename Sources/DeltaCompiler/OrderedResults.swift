/// Results that worker threads deliver in any order and a consumer takes by index.
final class OrderedResults<Value>: Sendable {
    private let slots: Monitor<[Result<Value, Error>?]>
    private let doorbell: Doorbell?

    /// `doorbell`, if given, rings on each delivery.
    init(count: Int, doorbell: Doorbell? = nil) {
        slots = Monitor(Array(repeating: nil, count: count))
        self.doorbell = doorbell
    }

    func put(_ index: Int, _ result: Result<Value, Error>) {
        slots.update { $0[index] = result }
        doorbell?.ring()
    }

    /// Waits for result `index`, and releases it: each index is taken once.
    func take(_ index: Int) -> Result<Value, Error> {
        slots.wait { slots in
            defer { slots[index] = nil }
            return slots[index]
        }
    }

    /// Result `index` if it has arrived, releasing it; nil otherwise.
    func poll(_ index: Int) -> Result<Value, Error>? {
        slots.withLock { slots in
            defer { slots[index] = nil }
            return slots[index]
        }
    }
}
