import Foundation

/// Ends a generation that has stopped making progress, instead of letting it wait forever.
///
/// Progress is any progress event or any scheduled step (an object encoded, a slice of a
/// part compressed) finishing. The longest single step is one bsdiff of at most
/// `--max-bsdiff-size`, which takes a minute or two, so the default limit of 10 minutes
/// never fires on a run that is merely slow. When it fires, `onStall` gets one sentence
/// naming the stage and what the scheduler holds; it must not return to a generator that
/// is stuck (the command line prints the sentence and exits).
final class StallWatchdog: @unchecked Sendable {  // mutable state protected by `state`
    private let state = NSCondition()
    private var stage = "starting"
    private var lastProgress = Date()
    private var lastActivity = 0
    private var stopped = false

    /// Starts watching; with a `limit` of nil or 0 nothing is watched. The watching thread
    /// holds the watchdog until `stop`.
    init(limit: Double?, activity: @escaping @Sendable () -> (count: Int, detail: String),
         onStall: @escaping @Sendable (String) -> Void) {
        guard let limit, limit > 0 else { return }
        let thread = Thread { [self] in
            while let message = check(limit: limit, activity: activity) {
                if !message.isEmpty { return onStall(message) }
            }
        }
        thread.name = "deltagen.watchdog"
        thread.start()
    }

    /// Records that the generation moved on, into `stage` if given.
    func progressed(stage newStage: String? = nil) {
        state.withLock {
            if let newStage { stage = newStage }
            lastProgress = Date()
        }
    }

    func stop() {
        state.withLock {
            stopped = true
            state.broadcast()
        }
    }

    /// Waits a while; nil once stopped, a message on a stall, "" otherwise.
    private func check(limit: Double, activity: () -> (count: Int, detail: String)) -> String? {
        state.lock()
        defer { state.unlock() }
        if stopped { return nil }
        _ = state.wait(until: Date(timeIntervalSinceNow: min(1, limit / 4)))
        if stopped { return nil }
        let (count, detail) = activity()
        if count != lastActivity {
            lastActivity = count
            lastProgress = Date()
        }
        let idle = Date().timeIntervalSince(lastProgress)
        guard idle >= limit else { return "" }
        stopped = true
        return "no progress for \(Int(idle)) s while \(stage) (\(detail)); stopped, nothing was published"
    }
}
