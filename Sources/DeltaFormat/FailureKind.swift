/// What went wrong, in the terms a CI job acts on. Every module's error type says which kind
/// it is, so the CLI can turn any error into a documented exit code without knowing the
/// module that threw it.
public enum FailureKind: Int32, Sendable, CaseIterable {
    /// The delta work itself failed: a corrupt source object, a verify mismatch. Exit 1.
    case deltaWork = 1
    /// The caller's input is wrong: usage, a missing commit, a malformed file. Exit 2.
    case badInput = 2
    /// A download or a connection failed, or stalled. Exit 3.
    case network = 3
    /// The disk is full or an I/O call failed. Exit 4.
    case storage = 4

    /// The process exit code for this kind of failure.
    public var exitCode: Int32 { rawValue }
}

/// An error that knows its `FailureKind`. Module error types adopt it.
public protocol ClassifiedError: Error {
    var failureKind: FailureKind { get }
}
