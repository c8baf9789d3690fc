import CGLib
import CLibOSTree
import DeltaFormat
import Foundation

/// The storage mode of an OSTree repository.
public enum RepositoryMode: String, Sendable {
    case bare, archive, bareUser = "bare-user", bareUserOnly = "bare-user-only", bareSplitXattrs = "bare-split-xattrs"
}

/// An open OSTree repository: the Swift face of `OstreeRepo`.
///
/// Instances are not shared across threads; open one per thread when reading in parallel.
public final class Repository {
    private let handle: GObjectReference
    /// The `OstreeRepo *`, for extensions in this module; valid as long as `self` lives.
    var repo: OpaquePointer { OpaquePointer(handle.pointer) }

    /// The repository's root directory.
    public let path: String

    /// Opens the repository at `path`, or ostree's default (`$OSTREE_REPO`, then the system repo) if nil.
    public init(path: String?) throws {
        let raw: OpaquePointer?
        if let path {
            let file = g_file_new_for_path(path)
            defer { g_object_unref(UnsafeMutableRawPointer(file)) }
            raw = ostree_repo_new(file)
        } else {
            raw = ostree_repo_new_default()
        }
        guard let raw else { throw RepositoryError(.io, "cannot create repository object") }
        handle = GObjectReference(adopting: UnsafeMutableRawPointer(raw))
        try gCall(failed: .io) { ostree_repo_open(raw, nil, $0) }
        let file = ostree_repo_get_path(raw)  // transfer none
        let cPath = g_file_get_path(file)
        defer { g_free(cPath) }
        self.path = cPath.map { String(cString: $0) } ?? (path ?? "")
    }

    public var mode: RepositoryMode {
        switch ostree_repo_get_mode(repo) {
        case OSTREE_REPO_MODE_BARE: return .bare
        case OSTREE_REPO_MODE_ARCHIVE: return .archive
        case OSTREE_REPO_MODE_BARE_USER: return .bareUser
        case OSTREE_REPO_MODE_BARE_USER_ONLY: return .bareUserOnly
        default: return .bareSplitXattrs
        }
    }

    /// Resolves a ref, a `REF^` expression or a checksum to a commit checksum.
    public func resolve(_ rev: String) throws -> Checksum {
        var out: UnsafeMutablePointer<CChar>? = nil
        try gCall(failed: .badRevision) { ostree_repo_resolve_rev(repo, rev, 0, &out, $0) }
        defer { g_free(out) }
        guard let out, let checksum = Checksum(hex: String(cString: out)) else {
            throw RepositoryError(.badRevision, "cannot resolve \(rev)")
        }
        return checksum
    }

    /// Whether the repository holds `object` (loose, or in a parent repo).
    public func has(_ object: ObjectName) throws -> Bool {
        var have: gboolean = 0
        try gCall { ostree_repo_has_object(repo, object.type.ostreeType, object.checksum.hex, &have, nil, $0) }
        return have != 0
    }

    /// The serialized bytes of a metadata object (commit, dirtree or dirmeta), exactly as stored.
    public func loadMetadata(_ object: ObjectName) throws -> [UInt8] {
        precondition(object.type.isMetadata, "content objects are read with loadContent")
        var variant: OpaquePointer? = nil
        try gCall { ostree_repo_load_variant(repo, object.type.ostreeType, object.checksum.hex, &variant, $0) }
        return consumeVariantBytes(variant)
    }

    /// The commit's detached metadata (`.commitmeta`) as a serialized `a{sv}`, or nil if it has none.
    public func detachedMetadata(of commit: Checksum) throws -> [UInt8]? {
        var variant: OpaquePointer? = nil
        try gCall { ostree_repo_read_commit_detached_metadata(repo, commit.hex, &variant, nil, $0) }
        guard variant != nil else { return nil }
        return consumeVariantBytes(variant)
    }

    /// Opens a content object: its header now, its bytes as a stream.
    public func loadContent(_ checksum: Checksum) throws -> ContentObject {
        var input: UnsafeMutablePointer<GInputStream>? = nil
        var info: OpaquePointer? = nil
        var xattrs: OpaquePointer? = nil
        try gCall { ostree_repo_load_file(repo, checksum.hex, &input, &info, &xattrs, nil, $0) }
        guard let info else { throw RepositoryError(.corruptObject, "object \(checksum.hex) has no file info") }
        let infoRef = GObjectReference(adopting: UnsafeMutableRawPointer(info))
        let header = ContentHeader(
            uid: g_file_info_get_attribute_uint32(info, "unix::uid"),
            gid: g_file_info_get_attribute_uint32(info, "unix::gid"),
            mode: g_file_info_get_attribute_uint32(info, "unix::mode"),
            size: UInt64(max(0, g_file_info_get_size(info))),
            symlinkTarget: g_file_info_get_file_type(info) == G_FILE_TYPE_SYMBOLIC_LINK
                ? g_file_info_get_symlink_target(info).map { String(cString: $0) } ?? "" : nil,
            xattrs: xattrs.map { consumeVariantBytes($0) } ?? [])
        _ = infoRef
        return ContentObject(checksum: checksum, header: header,
                             stream: input.map { ContentStream(adopting: $0) })
    }

    /// The object's size on disk in this repo (the `.filez` size in an archive repo).
    public func storageSize(of object: ObjectName) throws -> UInt64 {
        var size: guint64 = 0
        try gCall { ostree_repo_query_object_storage_size(repo, object.type.ostreeType, object.checksum.hex, &size, nil, $0) }
        return UInt64(size)
    }
}

extension ObjectType {
    var ostreeType: OstreeObjectType {
        switch self {
        case .file: return OSTREE_OBJECT_TYPE_FILE
        case .dirTree: return OSTREE_OBJECT_TYPE_DIR_TREE
        case .dirMeta: return OSTREE_OBJECT_TYPE_DIR_META
        case .commit: return OSTREE_OBJECT_TYPE_COMMIT
        }
    }
}

extension Repository {
    /// Every object reachable from `commit` (itself included, parents not), as libostree's
    /// own traversal lists them. Tests use it as an independent check of deltagen's walk.
    public func traverse(commit: Checksum) throws -> Set<ObjectName> {
        var table: OpaquePointer? = nil
        try gCall { ostree_repo_traverse_commit(repo, commit.hex, 0, &table, nil, $0) }
        guard let table else { return [] }
        defer { g_hash_table_unref(table) }
        var result = Set<ObjectName>()
        var iter = GHashTableIter()
        g_hash_table_iter_init(&iter, table)
        var key: gpointer? = nil
        while g_hash_table_iter_next(&iter, &key, nil) != 0 {
            var cChecksum: UnsafePointer<CChar>? = nil
            var type = OSTREE_OBJECT_TYPE_FILE
            ostree_object_name_deserialize(OpaquePointer(key), &cChecksum, &type)
            guard let cChecksum, let checksum = Checksum(hex: String(cString: cChecksum)) else { continue }
            let objectType: ObjectType
            switch type {
            case OSTREE_OBJECT_TYPE_FILE: objectType = .file
            case OSTREE_OBJECT_TYPE_DIR_TREE: objectType = .dirTree
            case OSTREE_OBJECT_TYPE_DIR_META: objectType = .dirMeta
            case OSTREE_OBJECT_TYPE_COMMIT: objectType = .commit
            default: continue
            }
            result.insert(ObjectName(checksum, objectType))
        }
        return result
    }
}
