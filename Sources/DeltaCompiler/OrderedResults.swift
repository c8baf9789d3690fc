import Dispatch

/// Runs closures on a concurrent queue, at most `limit` at once. `submit` blocks while the
/// limit is reached, which is what bounds memory when each closure holds a large buffer.
final class BoundedWork {
    private let queue: DispatchQueue
    private let group = DispatchGroup()
    private let slots: DispatchSemaphore

    init(label: String, limit: Int) {
        queue = DispatchQueue(label: label, attributes: .concurrent)
        slots = DispatchSemaphore(value: max(1, limit))
    }

    func submit(_ body: @escaping () -> Void) {
        slots.wait()
        group.enter()
        queue.async { [slots, group] in
            defer {
                slots.signal()
                group.leave()
            }
            body()
        }
    }

    /// Returns when every submitted closure has finished.
    func wait() { group.wait() }
}
