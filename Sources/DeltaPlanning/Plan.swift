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

    /// fioctl's "No Targets found to generate deltas for." when nothing is left to build.
    public func requireDeltas() throws {
        guard !groups.isEmpty else { throw PlanError.nothingToDo }
    }

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

    /// `--format matrix`: a GitHub Actions matrix, one job per (from, to) commit pair, or, past
    /// `maxJobs` pairs (GitHub refuses a matrix of more than 256 jobs), `maxJobs` jobs that each
    /// build a run of consecutive pairs, named in `only`. Consecutive pairs mostly share a to
    /// commit, so a job fetches few tarballs; run sizes differ by at most one.
    public func matrix(maxJobs: Int = Matrix.gitHubJobLimit) -> Matrix {
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
        guard include.count > maxJobs, maxJobs > 0 else { return Matrix(include: include) }
        var batches: [Matrix.Entry] = []
        var start = 0
        for job in 0..<maxJobs {
            let size = include.count / maxJobs + (job < include.count % maxJobs ? 1 : 0)
            let run = include[start..<start + size]
            start += size
            batches.append(Matrix.Entry(batch: job + 1, of: maxJobs, pairs: Array(run)))
        }
        return Matrix(include: batches)
    }
}

/// GitHub Actions' `strategy.matrix` object, for `fromJSON()`.
///
/// An entry is one (from, to) pair, with every field but `only`; or, in a batched matrix, a
/// run of pairs with only `name` and `only`, the space-separated `FROM-TO` list for
/// `ci-job --only`. Absent fields are left out of the JSON.
public struct Matrix: Codable, Equatable, Sendable {
    public static let gitHubJobLimit = 256

    public struct Entry: Codable, Equatable, Sendable {
        public var name: String
        public var hardwareID: String?
        public var from: String?
        public var fromVersion: Int?
        public var fromURL: String?
        public var to: String?
        public var toVersion: Int?
        public var toURL: String?
        public var only: String?

        enum CodingKeys: String, CodingKey {
            case name, hardwareID = "hw_id", from, fromVersion = "from_version", fromURL = "from_url"
            case to, toVersion = "to_version", toURL = "to_url", only
        }

        init(name: String, hardwareID: String, from: String, fromVersion: Int, fromURL: String,
             to: String, toVersion: Int, toURL: String) {
            self.name = name
            self.hardwareID = hardwareID
            self.from = from
            self.fromVersion = fromVersion
            self.fromURL = fromURL
            self.to = to
            self.toVersion = toVersion
            self.toURL = toURL
        }

        init(batch: Int, of total: Int, pairs: [Entry]) {
            // Short enough for a job title: the first pair stands for the rest.
            name = "batch \(batch)/\(total): \(pairs[0].name)" + (pairs.count > 1 ? " and \(pairs.count - 1) more" : "")
            only = pairs.map { "\($0.from ?? "")-\($0.to ?? "")" }.joined(separator: " ")
        }

        /// The `FROM-TO` pairs this job builds.
        public var pairs: [String] {
            if let only { return only.split(separator: " ").map(String.init) }
            return ["\(from ?? "")-\(to ?? "")"]
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
