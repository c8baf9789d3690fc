import DeltaFormat
import Foundation

/// An error of the fleet library, already phrased for the operator, with the kind of failure
/// a CI job acts on (and the CLI turns into an exit code).
public struct FactoryError: ClassifiedError, CustomStringConvertible, Sendable {
    public var description: String
    public var failureKind: FailureKind

    /// Most of what the fleet library refuses is its input: a deltas file, a tarball, a URL.
    public init(_ message: String, kind: FailureKind = .badInput) {
        description = message
        failureKind = kind
    }

    public static func network(_ message: String) -> FactoryError { FactoryError(message, kind: .network) }
    public static func storage(_ message: String) -> FactoryError { FactoryError(message, kind: .storage) }
    public static func deltaWork(_ message: String) -> FactoryError { FactoryError(message, kind: .deltaWork) }

    /// `message` for a failure caused by `error`, keeping the kind that error carries: its
    /// own if it is classified, storage for a full disk or an I/O error, else `fallback`.
    public init(_ message: String, causedBy error: Error, fallback: FailureKind = .badInput) {
        self.init(message, kind: FactoryError.kind(of: error) ?? fallback)
    }

    /// The kind an error carries, when it says: a `ClassifiedError`'s own, or storage for a
    /// POSIX or Cocoa error that means no space or failed I/O.
    public static func kind(of error: Error) -> FailureKind? {
        if let classified = error as? ClassifiedError { return classified.failureKind }
        guard let code = posixCode(of: error) else { return nil }
        return kind(ofErrno: code)
    }

    /// storage for the errno values that mean the disk, not the input, is at fault.
    public static func kind(ofErrno code: Int32) -> FailureKind? {
        [ENOSPC, EDQUOT, EIO, EROFS, EFBIG].contains(code) ? .storage : nil
    }

    private static func posixCode(of error: Error) -> Int32? {
        let ns = error as NSError
        if ns.domain == NSPOSIXErrorDomain { return Int32(ns.code) }
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return Int32(underlying.code)
        }
        if ns.domain == NSCocoaErrorDomain {
            switch CocoaError.Code(rawValue: ns.code) {
            case .fileWriteOutOfSpace: return ENOSPC
            case .fileWriteVolumeReadOnly: return EROFS
            default: return nil
            }
        }
        return nil
    }
}
