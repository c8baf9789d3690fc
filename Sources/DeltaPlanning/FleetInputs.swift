import DeltaFormat
import Foundation

/// One OSTree Target from a TUF targets.json, reduced to what planning needs.
public struct Target: Equatable, Sendable {
    public var name: String
    /// `hashes.sha256`: the OSTree commit the device pulls.
    public var commit: Checksum
    /// `custom.version` as written (a string in Foundries' files).
    public var version: String
    /// `custom.version` as fioctl reads it: an integer, or -1 when it is not one.
    public var versionNumber: Int
    /// False for "custom", "dev" and the like: such a Target is never a from or a to, though
    /// fioctl's -1 for it could collide with a from-version -1 from the status file.
    public var hasNumericVersion: Bool { Int(version) != nil }
    /// `custom.hardwareIds[0]`, as fioctl takes it.
    public var hardwareID: String
    public var tags: [String]
    /// `custom.uri`, the CI build; nil for Targets made without a build (`fioctl targets add`).
    public var uri: String?

    public init(name: String, commit: Checksum, version: String, hardwareID: String, tags: [String] = [], uri: String? = nil) {
        self.name = name
        self.commit = commit
        self.version = version
        versionNumber = Int(version) ?? -1
        self.hardwareID = hardwareID
        self.tags = tags
        self.uri = uri
    }
}

/// The OSTree Targets of a targets.json, in name order.
public struct TargetsFile: Sendable {
    public var targets: [Target]

    public init(targets: [Target]) { self.targets = targets }

    /// Reads a TUF targets role (`{"signed":{"targets":{…}}}`) or its bare `signed` part.
    /// Non-OSTree Targets (other `custom.targetFormat`s) are skipped.
    public init(json data: Data, file: String = "targets.json") throws {
        let root = try JSONNode.parse(data, file: file)
        let signed = try root.member("signed") ?? root
        var targets: [Target] = []
        for (name, node) in try signed.required("targets").members() {
            let custom = try node.required("custom")
            if let format = try custom.member("targetFormat"), try format.string() != "OSTREE" { continue }
            let hashes = try node.required("hashes")
            let hex = try hashes.required("sha256").string()
            guard let commit = Checksum(hex: hex), hex == hex.lowercased() else {
                throw try hashes.required("sha256").fail("\"\(hex)\" is not a 64-hex OSTree commit checksum")
            }
            let versionNode = try custom.required("version")
            // fioctl accepts a number here too; Foundries writes a string.
            let version: String
            if let text = try? versionNode.string() { version = text } else { version = String(try versionNode.int()) }
            let ids = try custom.required("hardwareIds").array()
            guard let first = ids.first else { throw try custom.required("hardwareIds").fail("is empty") }
            let tags = try custom.member("tags").map { try $0.array().map { try $0.string() } } ?? []
            let uri = try custom.member("uri").flatMap { $0.isNull ? nil : try $0.string() }
            targets.append(Target(name: name, commit: commit, version: version, hardwareID: try first.string(),
                                  tags: tags, uri: uri?.isEmpty == true ? nil : uri))
        }
        self.targets = targets
    }

    /// The hardware IDs that have a Target with this version, sorted.
    public func hardwareIDs(withVersion version: Int) -> [String] {
        Array(Set(targets.filter { $0.hasNumericVersion && $0.versionNumber == version }.map(\.hardwareID))).sorted()
    }
}

/// One tag's entry in the factory status: which versions its devices run.
public struct TagStatus: Equatable, Sendable {
    public struct Version: Equatable, Sendable {
        public var version: Int
        public var devices: Int
        /// Devices run it but it is no longer in the tag's Targets, so it cannot be resolved.
        public var isOrphan: Bool

        public init(version: Int, devices: Int = 0, isOrphan: Bool = false) {
            self.version = version
            self.devices = devices
            self.isOrphan = isOrphan
        }
    }

    public var name: String
    public var targets: [Version]

    public init(name: String, targets: [Version]) {
        self.name = name
        self.targets = targets
    }
}

/// The factory status (`GET /ota/factories/<f>/status/`): the CI and production tags.
/// `wave-tags` is not read, as fioctl does not read it.
public struct FleetStatus: Sendable {
    public var tags: [TagStatus]
    public var prodTags: [TagStatus]

    public init(tags: [TagStatus], prodTags: [TagStatus]) {
        self.tags = tags
        self.prodTags = prodTags
    }

    public init(json data: Data, file: String = "status.json") throws {
        let root = try JSONNode.parse(data, file: file)
        _ = try root.object()
        func tagList(_ key: String) throws -> [TagStatus] {
            guard let list = try root.member(key), !list.isNull else { return [] }
            return try list.array().map { tag in
                let versions = try tag.member("targets").map { $0.isNull ? [] : try $0.array() } ?? []
                return TagStatus(name: try tag.required("name").string(), targets: try versions.map { v in
                    TagStatus.Version(version: try v.required("version").int(),
                                      devices: try v.member("devices")?.int() ?? 0,
                                      isOrphan: try v.member("is-orphan")?.bool() ?? false)
                })
            }
        }
        tags = try tagList("tags")
        prodTags = try tagList("prod-tags")
    }
}
