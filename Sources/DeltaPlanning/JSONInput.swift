import DeltaFormat
import Foundation

/// An input file that does not have the shape we need, phrased for the operator.
public struct InputError: ClassifiedError, CustomStringConvertible, Equatable {
    public var description: String
    public init(_ message: String) { description = message }
    public var failureKind: FailureKind { .badInput }
}

/// A parsed JSON value with the path that led to it, so every shape error can say where.
///
/// JSONSerialization is used rather than Codable because these files come from other tools
/// (TUF, the factory API, CI secrets) and a message like "targets.json: signed.targets.X.custom:
/// hardwareIds is not a list" is worth more than Codable's coding-path dumps.
struct JSONNode {
    let value: Any
    let path: String
    let file: String

    static func parse(_ data: Data, file: String) throws -> JSONNode {
        do {
            let value = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
            return JSONNode(value: value, path: "", file: file)
        } catch {
            throw InputError("\(file): not valid JSON")
        }
    }

    func fail(_ message: String) -> InputError {
        InputError(path.isEmpty ? "\(file): \(message)" : "\(file): \(path): \(message)")
    }

    private func child(_ value: Any, _ key: String) -> JSONNode {
        JSONNode(value: value, path: path.isEmpty ? key : "\(path).\(key)", file: file)
    }

    var isNull: Bool { value is NSNull }

    func object() throws -> [String: Any] {
        guard let o = value as? [String: Any] else { throw fail("expected an object") }
        return o
    }

    func array() throws -> [JSONNode] {
        guard let a = value as? [Any] else { throw fail("expected a list") }
        return a.enumerated().map { JSONNode(value: $1, path: "\(path)[\($0)]", file: file) }
    }

    func string() throws -> String {
        guard let s = value as? String else { throw fail("expected a string") }
        return s
    }

    /// JSONSerialization hands back booleans as NSNumbers that also cast to Int; only the
    /// class name tells them apart.
    private var isBoolean: Bool { "\(type(of: value))".contains("Boolean") || type(of: value) == Bool.self }

    /// An integer; `true`/`false` and fractions are refused.
    func int() throws -> Int {
        guard !isBoolean, let i = value as? Int else { throw fail("expected an integer") }
        return i
    }

    /// A non-negative integer up to 2^64-1.
    func uint64() throws -> UInt64 {
        guard !isBoolean, let i = value as? UInt64 else { throw fail("expected a non-negative integer") }
        return i
    }

    func bool() throws -> Bool {
        guard isBoolean, let b = value as? Bool else { throw fail("expected true or false") }
        return b
    }

    func member(_ key: String) throws -> JSONNode? {
        guard let v = try object()[key] else { return nil }
        return child(v, key)
    }

    func required(_ key: String) throws -> JSONNode {
        guard let v = try member(key) else { throw fail("missing \"\(key)\"") }
        return v
    }

    /// The members of an object in key order, so that output built from them is stable.
    func members() throws -> [(String, JSONNode)] {
        try object().keys.sorted().map { ($0, child(try object()[$0]!, $0)) }
    }
}
