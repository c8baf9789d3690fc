import DeltaFormat
import Foundation

/// The errors fioctl stops with, in fioctl's words, plus ours for resolving Targets.
public enum PlanError: ClassifiedError, CustomStringConvertible, Equatable {
    /// Each is a request the fleet's data cannot satisfy: the caller's input.
    public var failureKind: FailureKind { .badInput }

    case fromNotOlder(from: Int, to: Int)
    case unknownTag(String)
    case nothingToDo
    case noTargetForTo(version: Int, hardwareID: String?)
    case conflictingTargets(version: Int, hardwareID: String, names: [String])

    public var description: String {
        switch self {
        case .fromNotOlder(let from, let to): return "from-version \(from) is newer than to-version \(to)"
        case .unknownTag(let tag): return "No tags named '\(tag)' found"
        case .nothingToDo: return "No Targets found to generate deltas for."
        case .noTargetForTo(let version, nil): return "no OSTree Target has version \(version)"
        case .noTargetForTo(let version, let hw?): return "no OSTree Target has version \(version) and hardware ID \(hw)"
        case .conflictingTargets(let version, let hw, let names):
            return "Targets \(names.joined(separator: ", ")) all have version \(version) and hardware ID \(hw) but different commits"
        }
    }
}

/// Turns "version TO for the devices on tag T" into from-versions, then into commit pairs.
public enum Planner {
    /// A CI build number as typed on the command line.
    public static func version(_ text: String) throws -> Int {
        guard let v = Int(text) else { throw InputError("version \"\(text)\" is not an integer (a CI build number)") }
        return v
    }

    /// The from-versions fioctl would send: explicit ones in argument order, then the tag's
    /// non-orphan versions below `to` from the CI tags, then from the production tags.
    /// Duplicates are kept, as fioctl keeps them.
    public static func fioctlVersions(to: Int, explicit: [Int], tag: String?, status: FleetStatus?) throws -> [Int] {
        var froms: [Int] = []
        for from in explicit {
            guard from < to else { throw PlanError.fromNotOlder(from: from, to: to) }
            froms.append(from)
        }
        if let tag, !tag.isEmpty {
            let status = status ?? FleetStatus(tags: [], prodTags: [])
            let ci = status.tags.first { $0.name == tag }
            let prod = status.prodTags.first { $0.name == tag }
            guard ci != nil || prod != nil else { throw PlanError.unknownTag(tag) }
            for entry in [ci, prod].compactMap({ $0 }) {
                froms += entry.targets.filter { !$0.isOrphan && $0.version < to }.map(\.version)
            }
        }
        guard !froms.isEmpty else { throw PlanError.nothingToDo }
        return froms
    }

    /// Our default order: each version once, newest first.
    public static func dedupedNewestFirst(_ versions: [Int]) -> [Int] {
        Array(Set(versions)).sorted(by: >)
    }

    /// fioctl's `--dryrun` text, byte for byte (Go's Println puts three spaces before each line).
    public static func dryRunText(to: Int, froms: [Int], hardwareID: String?) -> String {
        var text = hardwareID.map { "Dry run: Would generate static deltas for Targets with hardware ID \($0) and versions:\n" }
            ?? "Dry run: Would generate static deltas for Target versions:\n"
        for from in froms { text += "   \(from) -> \(to)\n" }
        return text
    }

    /// `--hw-id` with `--targets`: first TO must have a Target for the board, or the answer is
    /// that it has none (rather than a warning per from-version and "No Targets found"); then
    /// `filter(froms:hardwareID:targets:)`.
    public static func filter(to: Int, froms: [Int], hardwareID: String, targets: TargetsFile) throws -> (kept: [Int], warnings: [String]) {
        guard targets.targets.contains(where: { $0.hasNumericVersion && $0.versionNumber == to && $0.hardwareID == hardwareID }) else {
            throw PlanError.noTargetForTo(version: to, hardwareID: hardwareID)
        }
        return filter(froms: froms, hardwareID: hardwareID, targets: targets)
    }

    /// Keeps the from-versions that have a Target for `hardwareID`, with a warning for each one
    /// that has none: fioctl leaves that check to the server, which then skips them unseen.
    /// Only Targets with a numeric version count: fioctl reads "custom" as -1, and a -1 must not
    /// find such a Target.
    public static func filter(froms: [Int], hardwareID: String, targets: TargetsFile) -> (kept: [Int], warnings: [String]) {
        var kept: [Int] = [], warnings: [String] = []
        for from in froms {
            if targets.targets.contains(where: { $0.hasNumericVersion && $0.versionNumber == from && $0.hardwareID == hardwareID }) {
                kept.append(from)
            } else {
                warnings.append("version \(from) has no Target for hardware ID \(hardwareID); skipped")
            }
        }
        return (kept, warnings)
    }

    /// `draft`, refused when it plans no delta. Its warnings are lost with the error; the CLI
    /// uses `draft` and `Plan.requireDeltas()` so that it can print them first.
    public static func resolve(to: Int, froms: [Int], targets: TargetsFile, hardwareID: String?,
                               tarballURL: URLTemplate? = nil) throws -> Plan {
        let plan = try draft(to: to, froms: froms, targets: targets, hardwareID: hardwareID, tarballURL: tarballURL)
        try plan.requireDeltas()
        return plan
    }

    /// Resolves versions to commits, one group per hardware ID that has `to` (or just
    /// `hardwareID`). Froms that resolve to a commit already planned, or to TO's own commit,
    /// are dropped with a warning, so the CI job never builds the same delta twice. The plan
    /// may come back empty, with a warning for every from-version that was unknown.
    public static func draft(to: Int, froms: [Int], targets: TargetsFile, hardwareID: String?,
                             tarballURL: URLTemplate? = nil) throws -> Plan {
        let hardwareIDs = hardwareID.map { [$0] } ?? targets.hardwareIDs(withVersion: to)
        var groups: [PlannedGroup] = []
        var warnings: [String] = []
        for hw in hardwareIDs {
            guard let toTarget = try target(version: to, hardwareID: hw, in: targets) else {
                throw PlanError.noTargetForTo(version: to, hardwareID: hw)
            }
            var planned: [PlannedTarget] = []
            var seen: [Checksum: Int] = [toTarget.commit: to]
            for from in froms {
                guard let t = try target(version: from, hardwareID: hw, in: targets) else {
                    warnings.append("version \(from) has no Target for hardware ID \(hw); skipped")
                    continue
                }
                if let earlier = seen[t.commit] {
                    warnings.append("version \(from) of \(hw) has the same commit as version \(earlier); no separate delta")
                    continue
                }
                seen[t.commit] = from
                planned.append(PlannedTarget(t, url: try tarballURL?.expand(for: t) ?? ""))
            }
            if planned.isEmpty {
                warnings.append("hardware ID \(hw) has no from-version to build a delta from")
                continue
            }
            groups.append(PlannedGroup(hardwareID: hw, to: PlannedTarget(toTarget, url: try tarballURL?.expand(for: toTarget) ?? ""),
                                       froms: planned))
        }
        if hardwareIDs.isEmpty { throw PlanError.noTargetForTo(version: to, hardwareID: nil) }
        return Plan(toVersion: to, groups: groups, warnings: warnings)
    }

    private static func target(version: Int, hardwareID: String, in targets: TargetsFile) throws -> Target? {
        let matches = targets.targets.filter { $0.hasNumericVersion && $0.versionNumber == version && $0.hardwareID == hardwareID }
        guard let first = matches.first else { return nil }
        // Several names can share a version (a Target re-added under another name); they must agree.
        guard matches.allSatisfy({ $0.commit == first.commit }) else {
            throw PlanError.conflictingTargets(version: version, hardwareID: hardwareID, names: matches.map(\.name))
        }
        return first
    }
}

/// `--tarball-url`: where the CI build of a Target left its repo tarball.
///
/// Placeholders: `{version}`, `{hw_id}`, `{commit}`, `{name}` (the Target name) and `{uri}`
/// (`custom.uri`). A Target without a `custom.uri` gets an empty URL when the template uses
/// `{uri}`: it was not built by CI, so the job pulls its commit from `--remote-url` instead.
public struct URLTemplate: Sendable {
    public let template: String
    static let placeholders = ["version", "hw_id", "commit", "name", "uri"]

    public init(_ template: String) throws {
        var rest = Substring(template)
        while let open = rest.firstIndex(of: "{") {
            guard let close = rest[open...].firstIndex(of: "}") else {
                throw InputError("--tarball-url: unclosed \"{\" in \(template)")
            }
            let name = String(rest[rest.index(after: open)..<close])
            guard URLTemplate.placeholders.contains(name) else {
                throw InputError("--tarball-url: unknown placeholder {\(name)}; use {version}, {hw_id}, {commit}, {name} or {uri}")
            }
            rest = rest[rest.index(after: close)...]
        }
        self.template = template
    }

    public func expand(for target: Target) throws -> String {
        if template.contains("{uri}") && target.uri == nil { return "" }
        return template
            .replacingOccurrences(of: "{version}", with: target.version)
            .replacingOccurrences(of: "{hw_id}", with: target.hardwareID)
            .replacingOccurrences(of: "{commit}", with: target.commit.hex)
            .replacingOccurrences(of: "{name}", with: target.name)
            .replacingOccurrences(of: "{uri}", with: target.uri?.trimmingSuffix("/") ?? "")
    }
}

extension String {
    func trimmingSuffix(_ suffix: String) -> String {
        var s = self
        while s.hasSuffix(suffix) { s.removeLast(suffix.count) }
        return s
    }
}
