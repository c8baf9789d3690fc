import DeltaFormat
import OSTreeRepo

/// Every path of a commit's tree, by object: where a delta's objects land in TO, and what
/// FROM had at the same path. Each dirtree is read once, as ostree's own walk does, so a
/// subtree shared by two directories lists its files under the first one only.
public struct TreePaths {
    /// Paths of each object, in walk order: a file's paths, a dirtree's or dirmeta's
    /// directory ("/" for the root), "(commit)" for the commit.
    public private(set) var paths: [ObjectName: [String]] = [:]
    /// The content object at each file path.
    public private(set) var fileAt: [String: Checksum] = [:]

    public init() {}

    public init(repo: Repository, commit: Checksum) throws {
        let commitName = ObjectName(commit, .commit)
        let commitObject = try CommitObject(decoding: try TreePaths.load(repo, commitName))
        add(commitName, "(commit)")
        var seen = Set<Checksum>()
        var stack: [(tree: Checksum, meta: Checksum, path: String)] = [(commitObject.rootTree, commitObject.rootMeta, "")]
        while let (treeSum, metaSum, path) = stack.popLast() {
            let directory = path.isEmpty ? "/" : path
            add(ObjectName(metaSum, .dirMeta), directory)
            add(ObjectName(treeSum, .dirTree), directory)
            guard seen.insert(treeSum).inserted else { continue }
            let tree = try DirTreeObject(decoding: try TreePaths.load(repo, ObjectName(treeSum, .dirTree)))
            for file in tree.files {
                let filePath = path + "/" + file.name
                add(ObjectName(file.checksum, .file), filePath)
                fileAt[filePath] = file.checksum
            }
            for dir in tree.directories.reversed() {
                stack.append((dir.tree, dir.meta, path + "/" + dir.name))
            }
        }
    }

    /// Records `path` for `object`; tests build small maps by hand with it.
    public mutating func add(_ object: ObjectName, _ path: String) {
        paths[object, default: []].append(path)
    }

    /// The path an object is reported under: its first one.
    public func firstPath(_ object: ObjectName) -> String? { paths[object]?.first }

    private static func load(_ repo: Repository, _ object: ObjectName) throws -> [UInt8] {
        do {
            return try repo.loadMetadata(object)
        } catch let e as RepositoryError {
            throw InsightError("cannot read \(object) of the tree: \(e.message)")
        }
    }
}

/// An error explain reports as it is.
public struct InsightError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
