import Dispatch
import DeltaCompiler

/// Runs `body` on up to `width` items at once and rethrows the first error; once one item
/// fails, no new item starts.
///
/// Each slot is its own serial DispatchQueue: libdispatch gives every serial queue a thread
/// of its own at once, so a slot blocked on the network or the disk never waits for a
/// CPU-sized pool (which `concurrentPerform` is).
func forEachInParallel<T: Sendable>(_ items: [T], width: Int, _ body: @escaping @Sendable (T) throws -> Void) throws {
    let state = Monitor<(next: Int, error: (any Error)?)>((0, nil))
    let group = DispatchGroup()
    for slot in 0..<min(max(1, width), items.count) {
        DispatchQueue(label: "deltagen.parallel.\(slot)").async(group: group) {
            while let item = state.withLock({ s -> T? in
                guard s.error == nil, s.next < items.count else { return nil }
                s.next += 1
                return items[s.next - 1]
            }) {
                do { try body(item) } catch {
                    state.withLock { s in if s.error == nil { s.error = error } }
                }
            }
        }
    }
    group.wait()
    if let error = state.withLock({ $0.error }) { throw error }
}
