import Foundation

/// Faults that debug builds inject when the test suite asks for them through the
/// environment; release builds compile them out. They let the tests shake the scheduler's
/// timing and freeze a stage, which no input can do on demand.
enum TestHooks {
    #if DEBUG
    /// DELTAGEN_TEST_SCHEDULER_JITTER_US: each scheduler step waits a random 0…N µs before
    /// asking for a core and after giving it back.
    static let schedulerJitter: UInt32 = {
        UInt32(ProcessInfo.processInfo.environment["DELTAGEN_TEST_SCHEDULER_JITTER_US"] ?? "") ?? 0
    }()

    /// DELTAGEN_TEST_FREEZE_STAGE: the generator stops for good on entering this stage.
    static let frozenStage: String? = ProcessInfo.processInfo.environment["DELTAGEN_TEST_FREEZE_STAGE"]
    #endif

    /// DELTAGEN_TEST_STREAM_ABOVE: files above this many bytes take the streaming path, so
    /// small test repositories exercise it.
    static var streamAbove: UInt64? {
        #if DEBUG
        return ProcessInfo.processInfo.environment["DELTAGEN_TEST_STREAM_ABOVE"].flatMap { UInt64($0) }
        #else
        return nil
        #endif
    }

    @inline(__always) static func jitter() {
        #if DEBUG
        if schedulerJitter > 0 { usleep(UInt32.random(in: 0...schedulerJitter)) }
        #endif
    }

    @inline(__always) static func enter(stage: String) {
        #if DEBUG
        if stage == frozenStage { while true { sleep(3600) } }
        #endif
    }
}
