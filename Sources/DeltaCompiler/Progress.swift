/// What a generation is doing, for a progress display. Events arrive from several threads.
public enum ProgressEvent: Sendable {
    /// A phase starts: "scanning", "pairing", "encoding", "compressing", "verifying", "writing".
    case phase(String)
    /// `done` of `total` new content objects are encoded.
    case encoded(done: Int, total: Int)
    /// Part `index` is compressed; `closed` parts have been closed so far.
    case partCompressed(index: Int, closed: Int)
}

public typealias ProgressHandler = @Sendable (ProgressEvent) -> Void
