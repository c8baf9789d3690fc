import DeltaFormat
import Foundation

/// A Target chosen by the plan, with where CI can fetch its repo ("" = pull from the remote).
public struct PlannedTarget: Codable, Equatable, Sendable {
    public var version: Int
    public var name: String
    public var commit: String
    public var url: String

    init(_ target: Target, url: String) {
        version = target.versionNumber
        name = target.name
        commit = target.commit.hex
        self.url = url
    }
}

/// The deltas one hardware ID needs: every from to one to.
public struct PlannedGroup: Codable, Equatable, Sendable {
    public var hardwareID: String
    public var to: PlannedTarget
    public var froms: [PlannedTarget]

    enum CodingKeys: String, CodingKey {
        case hardwareID = "hardware_id", to, froms
    }
}

public struct Plan: Codable, Equatable, Sendable {
    public var toVersion: Int
    public var groups: [PlannedGroup]
    public var warnings: [String]

    enum CodingKeys: String, CodingKey {
        case toVersion = "to_version", groups, warnings
    }

    public var pairCount: Int { groups.reduce(0) { $0 + $1.froms.count } }

    /// `--format text`: one block per hardware ID, fioctl-style arrows plus the commits.
    public func text() -> String {
        var out = ""
        for g in groups {
            out += "\(g.hardwareID): version \(g.to.version) is \(g.to.commit)\n"
            for f in g.froms {
                out += "   \(f.version) -> \(g.to.version)  \(f.commit)\n"
            }
        }
        return out
    }

    /// `--format deltas`: the CI job's deltas file, one entry per to commit.
    public func deltasFile() -> [DeltaRequest] {
        var requests: [DeltaRequest] = []
        for g in groups {
            let to = CommitSource(commit: Checksum(hex: g.to.commit)!, url: g.to.url)
            let froms = g.froms.map { CommitSource(commit: Checksum(hex: $0.commit)!, url: $0.url) }
            // Two hardware IDs can share a commit; one entry keeps the job from building twice.
            if let i = requests.firstIndex(where: { $0.to.commit == to.commit }) {
                for f in froms where !requests[i].froms.contains(where: { $0.commit == f.commit }) {
                    requests[i].froms.append(f)
                }
            } else {
                requests.append(DeltaRequest(to: to, froms: froms))
            }
        }
        return requests
    }

    /// `--format matrix`: a GitHub Actions matrix, one job per (from, to) commit pair.
    public func matrix() -> Matrix {
        var seen = Set<String>()
        var include: [Matrix.Entry] = []
        for g in groups {
            for f in g.froms where seen.insert("\(f.commit)-\(g.to.commit)").inserted {
                include.append(Matrix.Entry(
                    name: "\(g.hardwareID) \(f.version)->\(g.to.version)", hardwareID: g.hardwareID,
                    from: f.commit, fromVersion: f.version, fromURL: f.url,
                    to: g.to.commit, toVersion: g.to.version, toURL: g.to.url))
            }
        }
        return Matrix(include: include)
    }
}

/// GitHub Actions' `strategy.matrix` object, for `fromJSON()`.
public struct Matrix: Codable, Equatable, Sendable {
    public struct Entry: Codable, Equatable, Sendable {
        public var name: String
        public var hardwareID: String
        public var from: String
        public var fromVersion: Int
        public var fromURL: String
        public var to: String
        public var toVersion: Int
        public var toURL: String

        enum CodingKeys: String, CodingKey {
            case name, hardwareID = "hw_id", from, fromVersion = "from_version", fromURL = "from_url"
            case to, toVersion = "to_version", toURL = "to_url"
        }
    }

    public var include: [Entry]
}

/// Compact, key-sorted JSON without escaped slashes: one line that fits in `$GITHUB_OUTPUT`.
public func compactJSON<T: Encodable>(_ value: T, pretty: Bool = false) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = pretty ? [.sortedKeys, .withoutEscapingSlashes, .prettyPrinted]
                                      : [.sortedKeys, .withoutEscapingSlashes]
    return String(decoding: try encoder.encode(value), as: UTF8.self)
}
