/// What a generation is doing, for a progress display. Events arrive from several threads.
public enum ProgressEvent: Sendable {
    /// A phase starts: "scanning", "pairing", "encoding", "compressing", "verifying", "writing".
    case phase(String)
    /// `done` of `total` new content objects are encoded.
    case encoded(done: Int, total: Int)
    /// Part `index` is compressed and written: `done` of the delta's `total` parts are.
    case partCompressed(index: Int, done: Int, total: Int)
    /// Something the operator should know, such as concurrency lowered to fit memory.
    case notice(String)
}

public typealias ProgressHandler = @Sendable (ProgressEvent) -> Void
