import CGLib
import DeltaFormat

/// A failure of a repository call. GErrors are converted here, in this module, so no GLib
/// type or domain string reaches a caller: they get a `Kind` and a message.
public struct RepositoryError: ClassifiedError, Equatable, CustomStringConvertible {
    /// What failed, in terms a caller can act on.
    public enum Kind: String, Sendable, CaseIterable {
        /// An object, ref or file is not there (G_IO_ERROR_NOT_FOUND).
        case notFound
        /// A rev that names no commit: a malformed refspec or checksum.
        case badRevision
        /// An object is there but damaged: a checksum mismatch, a bad zlib stream, a size that
        /// does not match its header. libostree reports most of these as G_IO_ERROR_FAILED.
        case corruptObject
        /// The file system is full (G_IO_ERROR_NO_SPACE, ENOSPC).
        case noSpace
        /// Any other I/O failure: permissions, a read error, a repository that cannot open.
        case io
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }

    public var isNotFound: Bool { kind == .notFound }

    /// A missing object or a bad rev is the caller's input; a damaged object means the delta
    /// work failed; the rest is storage.
    public var failureKind: FailureKind {
        switch kind {
        case .notFound, .badRevision: return .badInput
        case .corruptObject: return .deltaWork
        case .noSpace, .io: return .storage
        }
    }

    /// Takes ownership of `error` (frees it) and converts it. A plain failure
    /// (G_IO_ERROR_FAILED, which libostree uses for most of its own checks) becomes `failed`.
    static func consume(_ error: UnsafeMutablePointer<GError>?, failed: Kind = .corruptObject) -> RepositoryError {
        guard let error else { return RepositoryError(.io, "unknown GLib error") }
        defer { g_error_free(error) }
        let message = error.pointee.message.map { String(cString: $0) } ?? "unknown error"
        return RepositoryError(kind(domain: error.pointee.domain, code: error.pointee.code, failed: failed), message)
    }

    /// The kind of a GError, by its domain's quark and its code.
    static func kind(domain: GQuark, code: Int32, failed: Kind) -> Kind {
        if domain == g_io_error_quark() {
            switch GIOErrorEnum(rawValue: UInt32(bitPattern: code)) {
            case G_IO_ERROR_NOT_FOUND: return .notFound
            case G_IO_ERROR_NO_SPACE: return .noSpace
            case G_IO_ERROR_INVALID_DATA, G_IO_ERROR_PARTIAL_INPUT: return .corruptObject
            case G_IO_ERROR_FAILED: return failed
            default: return .io
            }
        }
        if domain == g_file_error_quark() {
            switch GFileError(rawValue: UInt32(bitPattern: code)) {
            case G_FILE_ERROR_NOENT: return .notFound
            case G_FILE_ERROR_NOSPC: return .noSpace
            default: return .io
            }
        }
        return .io
    }
}

/// Runs a C call that reports failure through a `GError **` and a false return value. A plain
/// G_IO_ERROR_FAILED becomes `failed`: what such a failure means depends on the call.
func gCall(failed: RepositoryError.Kind = .corruptObject,
           _ body: (UnsafeMutablePointer<UnsafeMutablePointer<GError>?>) -> gboolean) throws {
    var error: UnsafeMutablePointer<GError>? = nil
    guard body(&error) != 0 else { throw RepositoryError.consume(error, failed: failed) }
}

/// A strong reference to a GObject, released exactly once when the Swift value goes away.
final class GObjectReference {
    let pointer: UnsafeMutableRawPointer

    /// Adopts a reference the caller already owns (a "transfer full" return value).
    init(adopting pointer: UnsafeMutableRawPointer) { self.pointer = pointer }

    deinit { g_object_unref(pointer) }

    func cast<T>(to: T.Type) -> UnsafeMutablePointer<T> { pointer.assumingMemoryBound(to: T.self) }
}

/// Copies a GVariant's serialized bytes and drops the caller's reference to it.
func consumeVariantBytes(_ variant: OpaquePointer?) -> [UInt8] {
    guard let variant else { return [] }
    defer { g_variant_unref(variant) }
    let size = g_variant_get_size(variant)
    guard size > 0, let data = g_variant_get_data(variant) else { return [] }
    return [UInt8](UnsafeRawBufferPointer(start: data, count: Int(size)))
}
