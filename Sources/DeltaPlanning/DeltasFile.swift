import DeltaFormat
import Foundation

/// A commit and the tarball that holds it; an empty URL means "pull it from the remote".
public struct CommitSource: Hashable, Sendable, Codable {
    public var commit: Checksum
    public var url: String

    public init(commit: Checksum, url: String) {
        self.commit = commit
        self.url = url
    }

    public var hasTarball: Bool { !url.isEmpty }

    // On disk it is the 2-array `[commit, url]` of the Foundries deltas file.
    public init(from decoder: Decoder) throws {
        var c = try decoder.unkeyedContainer()
        let hex = try c.decode(String.self)
        guard let commit = Checksum(hex: hex) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "not a commit checksum: \(hex)")
        }
        self.commit = commit
        url = try c.decodeNil() ? "" : try c.decode(String.self)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.unkeyedContainer()
        try c.encode(commit.hex)
        try c.encode(url)
    }
}

/// One entry of the CI deltas file: `{"to":[commit,url],"froms":[[commit,url],…]}`.
public struct DeltaRequest: Equatable, Sendable, Codable {
    public var to: CommitSource
    public var froms: [CommitSource]

    public init(to: CommitSource, froms: [CommitSource]) {
        self.to = to
        self.froms = froms
    }

    /// Every (from, to) pair, in file order.
    public var names: [DeltaName] { froms.map { DeltaName(from: $0.commit, to: to.commit) } }
}

public enum DeltasFile {
    /// Reads a deltas file as strictly as the Foundries job does: a list of objects with
    /// exactly the keys `to` and `froms`. A URL may be `""` or `null`.
    public static func parse(_ data: Data, file: String = "deltas file") throws -> [DeltaRequest] {
        let root = try JSONNode.parse(data, file: file)
        var requests: [DeltaRequest] = []
        for entry in try root.array() {
            let keys = try entry.object().keys.sorted()
            guard keys == ["froms", "to"] else {
                let odd = keys.filter { $0 != "to" && $0 != "froms" }
                throw entry.fail(odd.isEmpty ? "needs both \"to\" and \"froms\""
                                             : "unexpected key \"\(odd[0])\"; an entry has exactly \"to\" and \"froms\"")
            }
            let froms = try entry.required("froms").array().map(source)
            requests.append(DeltaRequest(to: try source(try entry.required("to")), froms: froms))
        }
        guard !requests.isEmpty else { throw root.fail("lists no deltas") }
        return requests
    }

    private static func source(_ node: JSONNode) throws -> CommitSource {
        let pair = try node.array()
        guard pair.count == 2 else { throw node.fail("expected [commit, url]") }
        let hex = try pair[0].string()
        guard let commit = Checksum(hex: hex) else { throw pair[0].fail("\"\(hex)\" is not a 64-hex commit checksum") }
        return CommitSource(commit: commit, url: pair[1].isNull ? "" : try pair[1].string())
    }

    /// The file's bytes as the plan writes them: pretty, key-sorted, slashes unescaped.
    public static func encode(_ requests: [DeltaRequest]) throws -> String {
        try compactJSON(requests, pretty: true)
    }
}
