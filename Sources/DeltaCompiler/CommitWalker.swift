import DeltaFormat
import OSTreeRepo

/// The objects reachable from one commit, in a stable walk order (format §9.2).
///
/// Only names and one path per content object are kept, never content, so a commit
/// of any size costs a few dozen bytes per object.
public struct ReachableObjects {
    public var commit: Checksum
    /// The commit, then dirtrees and dirmetas in depth-first, name-sorted order, each once.
    public var metadata: [ObjectName] = []
    /// Content objects in the order the walk first meets them, each once.
    public var content: [Checksum] = []
    /// The first path (absolute in the tree, `/`-separated) each content object was found at.
    public var firstPath: [Checksum: String] = [:]
    /// Every file path with its content object, when the walk was asked to keep them all.
    public var allFiles: [(path: String, checksum: Checksum)] = []

    public var all: Set<ObjectName> {
        var set = Set(metadata)
        for c in content { set.insert(ObjectName(c, .file)) }
        return set
    }
}

/// A commit's objects that cannot be walked: the source repository is damaged, so the delta
/// work fails (exit 1), whatever the object.
public enum WalkError: ClassifiedError, CustomStringConvertible {
    case missing(ObjectName, underlying: String)
    case corrupt(ObjectName, actual: Checksum)
    case malformed(ObjectName, String)
    /// The object is there but libostree cannot read it (bad zlib stream, truncated header).
    case unreadable(ObjectName, String)

    public var description: String {
        switch self {
        case .missing(let o, let why): return "object \(o) is missing from the repository (\(why))"
        case .corrupt(let o, let actual): return "object \(o) is corrupt: its bytes hash to \(actual.hex)"
        case .malformed(let o, let why): return "object \(o) is malformed: \(why)"
        case .unreadable(let o, let why): return "object \(o) is corrupt: \(why)"
        }
    }

    public var failureKind: FailureKind { .deltaWork }

    /// Names the object in a libostree read error, which often does not (zlib's "Need more
    /// input"), and tells a missing object from a damaged one. A full disk or a failing read
    /// is no fault of the object's, and stays a storage error.
    static func reading(_ object: ObjectName, in repo: Repository, _ error: RepositoryError) -> Error {
        if error.kind == .noSpace || error.kind == .io { return GenerateError.repository(error) }
        if (try? repo.has(object)) == true { return WalkError.unreadable(object, error.message) }
        return WalkError.missing(object, underlying: error.message)
    }
}

public enum CommitWalker {
    /// Walks `commit` in `repo`. Every metadata object read is checked against its checksum.
    /// Throws a `WalkError` or a `GenerateError`.
    public static func walk(_ repo: Repository, commit: Checksum, keepAllPaths: Bool = false) throws -> ReachableObjects {
        do {
            return try walkUnwrapped(repo, commit: commit, keepAllPaths: keepAllPaths)
        } catch {
            throw GenerateError.wrapping(error)
        }
    }

    private static func walkUnwrapped(_ repo: Repository, commit: Checksum, keepAllPaths: Bool) throws -> ReachableObjects {
        var result = ReachableObjects(commit: commit)
        var seen = Set<ObjectName>()
        let commitName = ObjectName(commit, .commit)
        let commitObject: CommitObject
        do {
            commitObject = try CommitObject(decoding: try load(repo, commitName))
        } catch let e as DeltaFormatError {
            throw WalkError.malformed(commitName, e.description)
        }
        result.metadata.append(commitName)
        seen.insert(commitName)

        // Explicit stack instead of recursion: trees can be arbitrarily deep.
        var stack: [(tree: Checksum, meta: Checksum, path: String)] = [(commitObject.rootTree, commitObject.rootMeta, "")]
        while let (treeSum, metaSum, path) = stack.popLast() {
            let meta = ObjectName(metaSum, .dirMeta)
            if seen.insert(meta).inserted {
                _ = try load(repo, meta)
                result.metadata.append(meta)
            }
            let treeName = ObjectName(treeSum, .dirTree)
            guard seen.insert(treeName).inserted else { continue }
            let tree: DirTreeObject
            do {
                tree = try DirTreeObject(decoding: try load(repo, treeName))
            } catch let e as DeltaFormatError {
                throw WalkError.malformed(treeName, e.description)
            }
            result.metadata.append(treeName)
            for file in tree.files {
                if keepAllPaths { result.allFiles.append((path + "/" + file.name, file.checksum)) }
                if result.firstPath[file.checksum] == nil {
                    result.firstPath[file.checksum] = path + "/" + file.name
                    result.content.append(file.checksum)
                }
            }
            for dir in tree.directories.reversed() {
                stack.append((dir.tree, dir.meta, path + "/" + dir.name))
            }
        }
        return result
    }

    private static func load(_ repo: Repository, _ object: ObjectName) throws -> [UInt8] {
        let bytes: [UInt8]
        do {
            bytes = try repo.loadMetadata(object)
        } catch let e as RepositoryError {
            throw WalkError.reading(object, in: repo, e)
        }
        let actual = SHA256Hasher.digest(bytes)
        guard actual == object.checksum else { throw WalkError.corrupt(object, actual: actual) }
        return bytes
    }
}
