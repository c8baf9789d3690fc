import DeltaFormat
import OSTreeRepo

/// Why a delta could not be generated. With `WalkError`, the only errors DeltaCompiler's
/// public API throws: a repository's or a file call's failure is wrapped, so callers never
/// need to know the lower layers' types, and each case says its `FailureKind`.
public enum GenerateError: ClassifiedError, CustomStringConvertible {
    case sameCommit(Checksum)
    case notACommit(role: String, Checksum, actualType: ObjectType?)
    case corruptContent(Checksum, actual: Checksum)
    case alreadyExists(DeltaName)
    case verificationFailed(VerifyCheck)
    case memoryLimit(limit: UInt64, needed: UInt64)
    /// A repository call failed; its own kind says whether the input, the source or the
    /// disk is at fault.
    case repository(RepositoryError)
    /// The encoder failed in a way the options do not explain: xz refused, or a streamed
    /// object changed while it was read.
    case encoding(String)
    /// A --filename that deltagen will not write to.
    case badPath(String)
    /// A file or system call failed: a full disk, an I/O error, a permission.
    case storage(String)

    public var description: String {
        switch self {
        case .sameCommit(let c): return "FROM and TO are the same commit \(c.hex); there is nothing to delta"
        case .notACommit(let role, let c, let actual?):
            return "\(role) \(c.hex) is a \(actual.name) object, not a commit"
        case .notACommit(let role, let c, nil):
            return "\(role) commit \(c.hex) is not in the repository"
        case .corruptContent(let c, let actual):
            return "object \(c.hex).file is corrupt: its content hashes to \(actual.hex)"
        case .alreadyExists(let name): return "Delta \(name) already exists."
        case .memoryLimit(let limit, let needed):
            return "this delta needs about \(needed) MB with one job (docs/design.md, \"Memory\"), more than the memory limit of \(limit) MB; raise --memory-limit, or lower --max-bsdiff-size or --xz-dict-size"
        case .verificationFailed(let check):
            return "the generated delta failed verification (\(check.name): \(check.detail)); nothing was published"
        case .repository(let e): return e.description
        case .encoding(let message), .badPath(let message), .storage(let message): return message
        }
    }

    public var failureKind: FailureKind {
        switch self {
        case .sameCommit, .notACommit, .alreadyExists, .memoryLimit, .badPath: return .badInput
        case .corruptContent, .verificationFailed, .encoding: return .deltaWork
        case .repository(let e): return e.failureKind
        case .storage: return .storage
        }
    }

    /// `error` as one of DeltaCompiler's own errors. What no lower layer classified is a file
    /// call's failure (the generator's only other source of errors), so it is storage.
    static func wrapping(_ error: Error) -> Error {
        switch error {
        case is GenerateError, is WalkError: return error
        case let e as RepositoryError: return GenerateError.repository(e)
        case let e as DeltaFormatError: return GenerateError.encoding(e.description)
        case let e as DeltaPathError: return GenerateError.badPath(e.description)
        // A path that is missing, of the wrong type or not ours to write (SystemError says).
        case let e as SystemError where e.failureKind == .badInput: return GenerateError.badPath(e.description)
        default: return GenerateError.storage(String(describing: error))
        }
    }
}
