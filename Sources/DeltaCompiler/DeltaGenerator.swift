import DeltaFormat
import Foundation
import OSTreeRepo

public enum GenerateError: Error, CustomStringConvertible {
    case sameCommit(Checksum)
    case notACommit(role: String, Checksum, actualType: ObjectType?)
    case corruptContent(Checksum, actual: Checksum)
    case alreadyExists(DeltaName)

    public var description: String {
        switch self {
        case .sameCommit(let c): return "FROM and TO are the same commit \(c.hex); there is nothing to delta"
        case .notACommit(let role, let c, let actual?):
            return "\(role) \(c.hex) is a \(actual.name) object, not a commit"
        case .notACommit(let role, let c, nil):
            return "\(role) commit \(c.hex) is not in the repository"
        case .corruptContent(let c, let actual):
            return "object \(c.hex).file is corrupt: its content hashes to \(actual.hex)"
        case .alreadyExists(let name): return "Delta \(name) already exists."
        }
    }
}

/// Builds one static delta from a repository and publishes it atomically.
public struct DeltaGenerator {
    public let repo: Repository
    public let options: DeltaOptions

    public init(repo: Repository, options: DeltaOptions) {
        self.repo = repo
        self.options = options
    }

    /// Where the finished superblock goes.
    public func superblockPath(for name: DeltaName) -> String {
        options.filename ?? "\(repo.path)/\(name.relativePath)/superblock"
    }

    /// Generates `name` and returns what was written. Nothing is visible until the delta is complete.
    public func generate(_ name: DeltaName) throws -> DeltaReport {
        let started = Date()
        if let from = name.from, from == name.to { throw GenerateError.sameCommit(from) }
        try requireCommit(name.to, role: "TO")
        if let from = name.from { try requireCommit(from, role: "FROM") }
        // -n looks in the repo's deltas/ even with --filename, as ostree does.
        if options.ifNotExists && FileOps.exists("\(repo.path)/\(name.relativePath)/superblock") {
            throw GenerateError.alreadyExists(name)
        }

        let target = try CommitWalker.walk(repo, commit: name.to)
        let known = try name.from.map { try CommitWalker.walk(repo, commit: $0).all } ?? []

        let staging = try StagingDirectory(repo: repo, filename: options.filename)
        defer { staging.discard() }
        let compressor = PartCompressor(jobs: options.jobs, preset: options.xzPreset,
                                        inline: options.inline, directory: staging.path)
        var part = PartBuilder()
        var partCount = 0
        var objectCount = 0
        var fallbacks: [FallbackEntry] = []

        func closePart() {
            compressor.submit(index: partCount, payload: part.payload(), objects: part.objects)
            objectCount += part.objects.count
            partCount += 1
            part = PartBuilder()
        }
        func makeRoom(for size: Int) {
            if !part.isEmpty && part.estimatedSize + size > options.maxChunkSize { closePart() }
        }

        // Metadata first (the to commit travels in the superblock), then content, in walk order.
        for object in target.metadata where object.type != .commit && !known.contains(object) {
            let bytes = try repo.loadMetadata(object)
            makeRoom(for: bytes.count)
            part.addMetadata(object, bytes: bytes)
        }
        for checksum in target.content where !known.contains(ObjectName(checksum, .file)) {
            let object: ContentObject
            do {
                object = try repo.loadContent(checksum)
            } catch let e as GLibError {
                throw WalkError.missing(ObjectName(checksum, .file), underlying: e.message)
            }
            let h = object.header
            if !h.isSymlink && options.minFallbackSize > 0 &&
                ContentObjectHeader.streamSize(mode: h.fileMode, symlinkTarget: nil, xattrs: h.xattrs,
                                               contentSize: h.size) > options.minFallbackSize {
                let name = ObjectName(checksum, .file)
                fallbacks.append(FallbackEntry(object: name, compressedSize: try repo.storageSize(of: name),
                                               uncompressedSize: h.size))
                continue
            }
            let bytes = try object.readAll()
            let actual = ContentObjectHeader.checksum(mode: h.fileMode, symlinkTarget: h.symlinkTarget,
                                                      xattrs: h.xattrs, content: bytes)
            guard actual == checksum else { throw GenerateError.corruptContent(checksum, actual: actual) }
            makeRoom(for: bytes.count)
            part.addContent(checksum, mode: h.fileMode, xattrs: h.xattrs, bytes: bytes)
        }
        closePart()  // there is always at least one part, even an empty one
        let parts = try compressor.finish(count: partCount)

        let commitBytes = try repo.loadMetadata(ObjectName(name.to, .commit))
        let commitTime = try CommitObject(decoding: commitBytes).timestamp
        let superblock = Superblock(
            name: name,
            timestamp: options.timestamp ?? commitTime,
            commit: commitBytes,
            commitMetadata: try repo.detachedMetadata(of: name.to),
            inlineParts: options.inline ? parts.map { $0.inlineBytes! } : [],
            parts: parts.map(\.header),
            fallbacks: fallbacks)
        let superblockBytes = superblock.serialized()
        try staging.writeSuperblock(superblockBytes)
        let destination = try staging.publish(name: name, partCount: options.inline ? 0 : partCount)

        let partBytes = parts.reduce(0) { $0 + $1.header.size }
        let partUBytes = parts.reduce(0) { $0 + $1.header.uncompressedSize }
        let fbBytes = fallbacks.reduce(0) { $0 + $1.compressedSize }
        let fbUBytes = fallbacks.reduce(0) { $0 + $1.uncompressedSize }
        return DeltaReport(
            name: name.description, from: name.from?.hex, to: name.to.hex, superblockPath: destination,
            inline: options.inline, parts: partCount, partBytes: partBytes, partUncompressedBytes: partUBytes,
            fallbacks: fallbacks.count, fallbackBytes: fbBytes, fallbackUncompressedBytes: fbUBytes,
            objects: objectCount, totalBytes: partBytes + fbBytes, totalUncompressedBytes: partUBytes + fbUBytes,
            superblockBytes: UInt64(superblockBytes.count),
            elapsedSeconds: Date().timeIntervalSince(started))
    }

    private func requireCommit(_ checksum: Checksum, role: String) throws {
        if try repo.has(ObjectName(checksum, .commit)) { return }
        for type in [ObjectType.dirTree, .dirMeta, .file] where try repo.has(ObjectName(checksum, type)) {
            throw GenerateError.notACommit(role: role, checksum, actualType: type)
        }
        throw GenerateError.notACommit(role: role, checksum, actualType: nil)
    }
}
