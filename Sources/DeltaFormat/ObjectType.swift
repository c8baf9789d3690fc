/// OSTree object types, with the numbers used in delta object lists.
public enum ObjectType: UInt8, Sendable, CaseIterable {
    case file = 1
    case dirTree = 2
    case dirMeta = 3
    case commit = 4

    public var isMetadata: Bool { self != .file }

    /// The name ostree gives this type in messages (`ostree_object_to_string`).
    public var name: String {
        switch self {
        case .file: return "file"
        case .dirTree: return "dirtree"
        case .dirMeta: return "dirmeta"
        case .commit: return "commit"
        }
    }

    /// The loose-object file suffix ostree uses for this type in an archive repo.
    public var archiveSuffix: String {
        switch self {
        case .file: return "filez"
        case .dirTree: return "dirtree"
        case .dirMeta: return "dirmeta"
        case .commit: return "commit"
        }
    }
}

/// An object's identity: its type and checksum.
public struct ObjectName: Hashable, Sendable, CustomStringConvertible {
    public var checksum: Checksum
    public var type: ObjectType

    public init(_ checksum: Checksum, _ type: ObjectType) {
        self.checksum = checksum
        self.type = type
    }

    public var description: String { "\(checksum.hex).\(type.name)" }
}
