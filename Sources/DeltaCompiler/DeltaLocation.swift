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
    public func inspect() throws -> DeltaInspection { try inspect { _, _, _ in } }

    /// `inspect()`, handing each part's checked, decoded payload to `body` as it is read, so
    /// a caller (explain) can look inside every part without holding them all at once.
    public func inspect(payloads body: (Int, PartHeader, RandomAccessBytes) throws -> Void) throws -> DeltaInspection {
        guard FileOps.exists(superblockPath) else { throw SystemError("opening superblock", superblockPath, code: 2) }
        let bytes = try FileOps.readFile(superblockPath, limit: DeltaLocation.maxSuperblockSize)
        return try DeltaReader.inspect(superblockFile: bytes) { index, header, inlineFile in
            let payload: RandomAccessBytes
            if let inlineFile {
                payload = try PartReading.payload(ofFile: inlineFile, header: header)
            } else {
                do {
                    payload = try PartReading.payload(ofPartAt: "\(directory)/\(index)", header: header).get()
                } catch let mismatch as PartFileMismatch {
                    throw DeltaFormatError.malformed("part \(index) \(mismatch.description)")
                }
            }
            try body(index, header, payload)
            return payload
        }
    }
}
