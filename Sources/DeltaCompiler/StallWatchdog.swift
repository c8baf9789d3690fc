import Foundation

/// Ends a generation that has stopped making progress, instead of letting it wait forever.
///
/// Progress is any progress event or any scheduled step (an object encoded, a slice of a
/// part compressed) finishing. The longest single step is one bsdiff of at most
/// `--max-bsdiff-size`, which takes a minute or two, so the default limit of 10 minutes
/// never fires on a run that is merely slow. When it fires, `onStall` gets one sentence
/// naming the stage and what the scheduler holds; it must not return to a generator that
/// is stuck (the command line prints the sentence and exits).
final class StallWatchdog: Sendable {
    private struct Watch {
        var stage = "starting"
        var lastProgress = Date()
        var lastActivity = 0
        var stopped = false
    }

    private let state = Monitor(Watch())

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
            if let newStage { $0.stage = newStage }
            $0.lastProgress = Date()
        }
    }

    func stop() {
        state.update { $0.stopped = true }
    }

    /// Waits a while; nil once stopped, a message on a stall, "" otherwise.
    private func check(limit: Double, activity: () -> (count: Int, detail: String)) -> String? {
        let deadline = Date(timeIntervalSinceNow: min(1, limit / 4))
        if state.wait(until: deadline, for: { $0.stopped ? () : nil }) != nil { return nil }
        // Read outside the watchdog's lock: the scheduler's lock is never taken inside it.
        let (count, detail) = activity()
        return state.withLock { watch in
            if watch.stopped { return nil }
            if count != watch.lastActivity {
                watch.lastActivity = count
                watch.lastProgress = Date()
            }
            let idle = Date().timeIntervalSince(watch.lastProgress)
            guard idle >= limit else { return "" }
            watch.stopped = true
            return "no progress for \(Int(idle)) s while \(watch.stage) (\(detail)); stopped, nothing was published"
        }
    }
}
