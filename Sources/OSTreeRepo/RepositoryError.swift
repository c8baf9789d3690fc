import CGLib
import DeltaFormat

/// A failure of a repository call: a GError copied into Swift and freed, so it can be thrown.
public struct RepositoryError: ClassifiedError, Equatable, CustomStringConvertible {
    public var domain: String
    public var code: Int32
    public var message: String

    public var description: String { message }

    /// Takes ownership of `error` (frees it) and returns it as a Swift error.
    static func consume(_ error: UnsafeMutablePointer<GError>?) -> RepositoryError {
        guard let error else { return RepositoryError(domain: "deltagen", code: 0, message: "unknown GLib error") }
        defer { g_error_free(error) }
        let domain = g_quark_to_string(error.pointee.domain).map { String(cString: $0) } ?? "?"
        let message = error.pointee.message.map { String(cString: $0) } ?? "unknown error"
        return RepositoryError(domain: domain, code: error.pointee.code, message: message)
    }

    /// True for G_IO_ERROR_NOT_FOUND, the code libostree uses for missing objects and refs.
    /// A missing object or ref is the caller's input; anything else is treated as the
    /// delta work failing until the error model says better.
    public var failureKind: FailureKind { isNotFound ? .badInput : .deltaWork }

    public var isNotFound: Bool { domain == "g-io-error-quark" && code == Int32(G_IO_ERROR_NOT_FOUND.rawValue) }
}

/// Runs a C call that reports failure through a `GError **` and a false return value.
func gCall(_ body: (UnsafeMutablePointer<UnsafeMutablePointer<GError>?>) -> gboolean) throws {
    var error: UnsafeMutablePointer<GError>? = nil
    guard body(&error) != 0 else { throw RepositoryError.consume(error) }
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
