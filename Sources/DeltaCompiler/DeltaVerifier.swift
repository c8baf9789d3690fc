import DeltaFormat
import Foundation
import OSTreeRepo

/// One verification check and its outcome.
public struct VerifyCheck: Codable, Sendable {
    public var name: String
    public var passed: Bool
    public var detail: String
}

/// Proves a delta correct against a repository holding FROM, without writing anything:
/// the superblock, every part's file, payload and ops (replayed in memory against FROM's
/// objects), the fallbacks, and that TO is complete given FROM and the delta.
public struct DeltaVerifier {
    public let repo: Repository

    public init(repo: Repository) {
        self.repo = repo
    }

    /// Runs every check. `replayed` holds parts already replayed from the very bytes now in
    /// their files (the generator replays each part as soon as it is written); a part whose
    /// file checksum matches is not decoded and replayed again.
    public func verify(_ location: DeltaLocation, replayed: [Int: ReplayedPart] = [:]) -> [VerifyCheck] {
        var checks: [VerifyCheck] = []
        func record(_ name: String, _ body: () throws -> String) -> Bool {
            do {
                checks.append(VerifyCheck(name: name, passed: true, detail: try body()))
                return true
            } catch {
                checks.append(VerifyCheck(name: name, passed: false, detail: "\(error)"))
                return false
            }
        }

        var decoded: DecodedSuperblock!
        guard record("superblock", {
            decoded = try Superblock.decode(file: try FileOps.readFile(location.superblockPath, limit: DeltaLocation.maxSuperblockSize))
            return "\(decoded.superblock.parts.count) parts, \(decoded.superblock.fallbacks.count) fallbacks"
        }) else { return checks }
        let sb = decoded.superblock

        var commit: CommitObject!
        guard record("embedded commit", {
            let actual = SHA256Hasher.digest(sb.commit)
            guard actual == sb.name.to else { throw VerifyFailure("its bytes hash to \(actual.hex), not TO \(sb.name.to.hex)") }
            commit = try CommitObject(decoding: sb.commit)
            return "checksum equals TO \(sb.name.to.hex)"
        }) else { return checks }

        var reachable = Set<ObjectName>()
        if let from = sb.name.from {
            guard record("from commit", {
                guard try repo.has(ObjectName(from, .commit)) else { throw VerifyFailure("\(from.hex) is not in the repository") }
                reachable = try CommitWalker.walk(repo, commit: from).all
                return "\(reachable.count) objects reachable from \(from.hex)"
            }) else { return checks }
        }
        let fromObjects = reachable
        let repoPath = repo.path

        // Parts are independent of each other, so they are checked in parallel, each with its
        // own repository handle; their checks are reported in part order.
        let outcomes = OrderedResults<(file: VerifyCheck, replay: ReplayedPart?)>(count: sb.parts.count)
        DispatchQueue.concurrentPerform(iterations: sb.parts.count) { i in
            let header = sb.parts[i]
            let decoded: Result<PayloadBuffer, Error>
            do {
                if let earlier = replayed[i], earlier.fileChecksum == header.checksum {
                    // Replayed from these very bytes during generation: check the file only.
                    try DeltaVerifier.checkPartFile(i, sb: sb, location: location)
                    outcomes.put(i, .success((VerifyCheck(name: "part \(i)", passed: true, detail: "\(header.size) bytes, checksum ok"), earlier)))
                    return
                }
                if i < sb.inlineParts.count {
                    try DeltaVerifier.checkPartFile(i, sb: sb, location: location)
                    decoded = Result { try PartReading.payload(ofFile: sb.inlineParts[i], header: header) }
                } else {
                    decoded = try PartReading.payload(ofPartAt: "\(location.directory)/\(i)", header: header)
                }
            } catch {
                outcomes.put(i, .success((VerifyCheck(name: "part \(i)", passed: false, detail: "\(error)"), nil)))
                return
            }
            let check = VerifyCheck(name: "part \(i)", passed: true, detail: "\(header.size) bytes, checksum ok")
            let replayed = DeltaVerifier.replay(i, decoded, header: header, repoPath: repoPath, fromObjects: fromObjects)
            outcomes.put(i, .success((check, replayed)))
        }
        var created: [ObjectName: [UInt8]?] = [:]
        for i in sb.parts.indices {
            guard case .success(let outcome) = outcomes.take(i) else { continue }
            checks.append(outcome.file)
            if let replay = outcome.replay {
                checks += replay.checks
                created.merge(replay.created) { first, _ in first }
            }
        }

        _ = record("fallbacks", {
            for f in sb.fallbacks {
                guard f.object.type == .file else { throw VerifyFailure("\(f.object) is a metadata fallback") }
                guard try repo.has(f.object) else { throw VerifyFailure("\(f.object) is not in the repository to be fetched") }
            }
            return "\(sb.fallbacks.count) present in the repository"
        })

        _ = record("completeness", {
            let fallbacks = Set(sb.fallbacks.map(\.object))
            func available(_ o: ObjectName) -> Bool { created[o] != nil || fromObjects.contains(o) || fallbacks.contains(o) }
            func metadata(_ o: ObjectName) throws -> [UInt8] {
                if let bytes = created[o] ?? nil { return bytes }
                guard fromObjects.contains(o) else { throw VerifyFailure("\(o) is neither in FROM nor in the delta") }
                return try repo.loadMetadata(o)
            }
            var seen = Set<ObjectName>()
            var stack = [(commit.rootTree, commit.rootMeta)]
            var count = 0
            while let (tree, meta) = stack.popLast() {
                _ = try metadata(ObjectName(meta, .dirMeta))
                let treeName = ObjectName(tree, .dirTree)
                guard seen.insert(treeName).inserted else { continue }
                let dirtree = try DirTreeObject(decoding: try metadata(treeName))
                for f in dirtree.files {
                    let o = ObjectName(f.checksum, .file)
                    guard available(o) else { throw VerifyFailure("\(o) is neither in FROM, in the delta, nor a fallback") }
                    count += 1
                }
                stack.append(contentsOf: dirtree.directories.map { ($0.tree, $0.meta) })
            }
            return "every object of TO is in FROM, in the delta or a fallback (\(count) file entries)"
        })
        return checks
    }

    /// Checks part `i`'s file (or inline bytes) against the superblock's size and checksum,
    /// reading it in pieces.
    private static func checkPartFile(_ i: Int, sb: Superblock, location: DeltaLocation) throws {
        let header = sb.parts[i]
        let actual: Checksum
        if i < sb.inlineParts.count {
            actual = SHA256Hasher.digest(sb.inlineParts[i])
        } else {
            let path = "\(location.directory)/\(i)"
            let hasher = SHA256Hasher()
            let size = try FileOps.forEachChunk(of: path, limit: header.size) { hasher.update($0) }
            guard size == header.size else {
                throw VerifyFailure("file is \(size) bytes, superblock says \(header.size)")
            }
            actual = hasher.finish()
        }
        guard actual == header.checksum else {
            throw VerifyFailure("checksum mismatch: expected \(header.checksum.hex), actual \(actual.hex)")
        }
    }

    /// Decodes part `i`, just written, and replays its ops against FROM's objects: each
    /// listed object must come out with its checksum, and `usize` must match.
    static func replayPart(_ i: Int, _ part: PartCompressor.WrittenPart, header: PartHeader, repoPath: String,
                           fromObjects: Set<ObjectName>) -> ReplayedPart {
        let decoded: Result<PayloadBuffer, Error>
        switch part {
        case .bytes(let file):
            decoded = Result { try PartReading.payload(ofFile: file, header: header) }
        case .file(let path):
            decoded = Result { try PartReading.payload(ofPartAt: path, header: header, checksum: false) }.flatMap { $0 }
        }
        return replay(i, decoded, header: header, repoPath: repoPath, fromObjects: fromObjects)
    }

    /// Each call opens its own repository handle: parts are replayed on several threads.
    private static func replay(_ i: Int, _ decoded: Result<PayloadBuffer, Error>, header: PartHeader,
                               repoPath: String, fromObjects: Set<ObjectName>) -> ReplayedPart {
        var result = ReplayedPart(fileChecksum: header.checksum)
        let name = "part \(i) ops"
        do {
            let handle = try Repository(path: repoPath)
            let payload = try decoded.get()
            let payloadSize = payload.count
            var objectBytes = 0, symlinkBytes = 0
            try PartReplay.run(try PartPayloadIndex(payload), objects: header.objects, sources: { checksum in
                guard fromObjects.contains(ObjectName(checksum, .file)) else { return nil }
                return try PartReading.content(of: checksum, in: handle)
            }, written: { w in
                result.created[w.object] = w.metadata
                objectBytes += w.size
                if w.isSymlink { symlinkBytes += w.size }
            })
            // deltagen declares the payload length; ostree declares the objects' total, in
            // which a symlink counts its target length (bare repos) or nothing (archive).
            let accepted = [payloadSize, objectBytes, objectBytes - symlinkBytes].map(UInt64.init)
            guard accepted.contains(header.uncompressedSize) else {
                throw VerifyFailure("usize mismatch: declared \(header.uncompressedSize), payload is \(payloadSize) bytes, objects \(objectBytes)")
            }
            result.checks.append(VerifyCheck(name: name, passed: true, detail: "\(header.objects.count) objects rebuilt with their checksums"))
        } catch {
            result.checks.append(VerifyCheck(name: name, passed: false, detail: "\(error)"))
        }
        return result
    }
}
/// A part decoded and replayed, for the file whose bytes hash to `fileChecksum`.
public struct ReplayedPart: Sendable {
    public var fileChecksum: Checksum
    var checks: [VerifyCheck] = []
    var created: [ObjectName: [UInt8]?] = [:]
}

struct VerifyFailure: Error, CustomStringConvertible {
    var description: String
    init(_ message: String) { description = message }
}
