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

    public func verify(_ location: DeltaLocation) -> [VerifyCheck] {
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

        var fromObjects = Set<ObjectName>()
        if let from = sb.name.from {
            guard record("from commit", {
                guard try repo.has(ObjectName(from, .commit)) else { throw VerifyFailure("\(from.hex) is not in the repository") }
                fromObjects = try CommitWalker.walk(repo, commit: from).all
                return "\(fromObjects.count) objects reachable from \(from.hex)"
            }) else { return checks }
        }

        // Parts are independent of each other, so they are checked in parallel, each with its
        // own repository handle; their checks are reported in part order.
        let outcomes = OrderedResults<PartOutcome>(count: sb.parts.count)
        DispatchQueue.concurrentPerform(iterations: sb.parts.count) { i in
            outcomes.put(i, Result { try verifyPart(i, sb: sb, location: location, fromObjects: fromObjects) })
        }
        var created: [ObjectName: [UInt8]?] = [:]
        for i in sb.parts.indices {
            switch outcomes.take(i) {
            case .success(let outcome):
                checks += outcome.checks
                created.merge(outcome.created) { first, _ in first }
            case .failure(let error):
                checks.append(VerifyCheck(name: "part \(i)", passed: false, detail: "\(error)"))
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

    private struct PartOutcome {
        var checks: [VerifyCheck] = []
        var created: [ObjectName: [UInt8]?] = [:]
    }

    /// The checks of part `i`: its file, its payload, and its ops replayed against FROM.
    private func verifyPart(_ i: Int, sb: Superblock, location: DeltaLocation,
                            fromObjects: Set<ObjectName>) throws -> PartOutcome {
        let handle = try Repository(path: repo.path)
        var outcome = PartOutcome()
        func record(_ name: String, _ body: () throws -> String) -> Bool {
            do {
                outcome.checks.append(VerifyCheck(name: name, passed: true, detail: try body()))
                return true
            } catch {
                outcome.checks.append(VerifyCheck(name: name, passed: false, detail: "\(error)"))
                return false
            }
        }
        let header = sb.parts[i]
        var payload: PartPayload!
        var payloadSize = 0
        guard record("part \(i)", {
            let file: [UInt8]
            if i < sb.inlineParts.count {
                file = sb.inlineParts[i]
            } else {
                file = try FileOps.readFile("\(location.directory)/\(i)", limit: Int(clamping: header.size) + 1)
                guard file.count == header.size else {
                    throw VerifyFailure("file is \(file.count) bytes, superblock says \(header.size)")
                }
            }
            let actual = SHA256Hasher.digest(file)
            guard actual == header.checksum else {
                throw VerifyFailure("checksum mismatch: expected \(header.checksum.hex), actual \(actual.hex)")
            }
            let bytes = try PartFile.decode(file, maxPayload: DeltaReader.payloadLimit(for: header))
            payloadSize = bytes.count
            payload = try PartPayload(decoding: bytes)
            return "\(file.count) bytes, checksum ok"
        }) else { return outcome }
        _ = record("part \(i) ops", {
            var objectBytes = 0, symlinkBytes = 0
            try PartReplay.run(payload, objects: header.objects, sources: { checksum in
                guard fromObjects.contains(ObjectName(checksum, .file)) else { return nil }
                return try handle.loadContent(checksum).readAll()
            }, written: { w in
                outcome.created[w.object] = w.metadata
                objectBytes += w.size
                if w.isSymlink { symlinkBytes += w.size }
            })
            // deltagen declares the payload length; ostree declares the objects' total, in
            // which a symlink counts its target length (bare repos) or nothing (archive).
            let accepted = [payloadSize, objectBytes, objectBytes - symlinkBytes].map(UInt64.init)
            guard accepted.contains(header.uncompressedSize) else {
                throw VerifyFailure("usize mismatch: declared \(header.uncompressedSize), payload is \(payloadSize) bytes, objects \(objectBytes)")
            }
            return "\(header.objects.count) objects rebuilt with their checksums"
        })
        return outcome
    }
}

struct VerifyFailure: Error, CustomStringConvertible {
    var description: String
    init(_ message: String) { description = message }
}
