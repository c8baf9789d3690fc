import DeltaFormat

/// Where a delta's files are: a superblock path, with non-inline parts beside it.
public struct DeltaLocation: Sendable {
    public var superblockPath: String
    /// A superblock beyond this size is refused rather than read (2022.7 clients stop at 10 MiB).
    public static let maxSuperblockSize = 256 << 20

    public init(superblockPath: String) {
        self.superblockPath = superblockPath
    }

    public init(repoPath: String, name: DeltaName) {
        superblockPath = "\(repoPath)/\(name.relativePath)/superblock"
    }

    public var directory: String {
        let dir = superblockPath.asPath.deletingLastComponent
        return dir.isEmpty ? "." : dir
    }

    /// Reads the superblock and every part, checking each part as `show` does.
    public func inspect() throws -> DeltaInspection {
        guard FileOps.exists(superblockPath) else { throw SystemError("opening superblock", superblockPath, code: 2) }
        let bytes = try FileOps.readFile(superblockPath, limit: DeltaLocation.maxSuperblockSize)
        return try DeltaReader.inspect(superblockFile: bytes) { index, header, inlineFile in
            if let inlineFile { return try PartReading.payload(ofFile: inlineFile, header: header) }
            do {
                return try PartReading.payload(ofPartAt: "\(directory)/\(index)", header: header).get()
            } catch let mismatch as PartFileMismatch {
                throw DeltaFormatError.malformed("part \(index) \(mismatch.description)")
            }
        }
    }
}
