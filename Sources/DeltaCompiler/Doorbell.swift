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
