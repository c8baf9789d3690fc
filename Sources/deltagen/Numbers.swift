import ArgumentParser
import Foundation

/// A number from the command line, kept as typed and checked against the option's documented
/// range in `validate()`, so that `-1`, `1e300` or 2^63 gets one line naming the option and
/// its range (exit 2) instead of a parser message, a wrap-around or an overflow trap.
struct NumberArgument: ExpressibleByArgument, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
    CustomStringConvertible {
    var text: String

    init?(argument: String) { text = argument }
    init(integerLiteral value: Int) { text = String(value) }
    init(floatLiteral value: Double) { text = String(value) }

    var description: String { text }
    var defaultValueDescription: String { text }

    /// The value as a whole number in `range`, or a ValidationError naming `option` and the range.
    func integer(_ option: String, _ range: ClosedRange<Int64>, unit: String = "") throws -> Int64 {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard let value = Int64(trimmed), range.contains(value) else {
            throw ValidationError("\(option) must be a whole number from \(range.lowerBound) to \(range.upperBound)\(unit.isEmpty ? "" : " " + unit), not \(shown)")
        }
        return value
    }

    /// The value as a finite number in `range`.
    func real(_ option: String, _ range: ClosedRange<Double>, unit: String = "") throws -> Double {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard let value = Double(trimmed), value.isFinite, range.contains(value) else {
            throw ValidationError("\(option) must be a number from \(Limits.format(range.lowerBound)) to \(Limits.format(range.upperBound))\(unit.isEmpty ? "" : " " + unit), not \(shown)")
        }
        return value
    }

    private var shown: String { text.count > 40 ? String(text.prefix(40)) + "…" : text }
}

/// The documented ranges of numeric options, shared by every command that has them.
enum Limits {
    /// Sizes in decimal MB: the largest whose byte count still fits in a signed 64-bit integer.
    static let maxMB: Int64 = Int64.max / 1_000_000
    static let sizeMB: ClosedRange<Int64> = 0...maxMB
    static let positiveSizeMB: ClosedRange<Int64> = 1...maxMB
    static let jobs: ClosedRange<Int64> = 1...256
    static let parallel: ClosedRange<Int64> = 1...64
    static let seconds: ClosedRange<Int64> = 0...86_400
    static let timestamp: ClosedRange<Int64> = 0...Int64.max

    static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }
}

/// swift-argument-parser reads `-1` after an option as another option ("Missing value"). A
/// value that looks like a negative number is joined to the long option before it
/// (`--jobs -1` → `--jobs=-1`), so the option's range check can say what is allowed.
func joiningNegativeValues(_ arguments: [String]) -> [String] {
    var result: [String] = []
    var i = 0
    while i < arguments.count {
        let a = arguments[i]
        if a == "--" { result += arguments[i...]; break }
        if a.hasPrefix("--"), !a.contains("="), i + 1 < arguments.count, looksNegative(arguments[i + 1]) {
            result.append(a + "=" + arguments[i + 1])
            i += 2
            continue
        }
        result.append(a)
        i += 1
    }
    return result
}

private func looksNegative(_ s: String) -> Bool {
    guard s.hasPrefix("-"), s.count > 1 else { return false }
    let next = s[s.index(after: s.startIndex)]
    return next.isNumber || next == "." || s.lowercased() == "-inf" || s.lowercased() == "-nan"
}
