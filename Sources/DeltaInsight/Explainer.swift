import DeltaCompiler
import DeltaFormat
import Foundation
import OSTreeRepo

/// What explain may skip.
public struct ExplainOptions: Sendable {
    /// Measure what changed compressed streams would cost uncompressed (decompresses and
    /// diffs them: the slow part of explain).
    public var measureStreams = true
    public init() {}
}

/// The library's entry point: `DeltaExplainer.explain(location, repo:)` returns the whole
/// report; `ExplainReport.writeJSON(to:)` writes it.
public enum DeltaExplainer {
    /// One object as read from the delta, before its paths and kind are known.
    struct Entry {
        var object: ObjectName
        var encoding: Encoding
        var part: Int?
        var newSize: UInt64
        var source: Checksum?
        var bytes: UInt64
    }

    /// Reads and checks the delta as `show` does, attributes every part's bytes to its
    /// objects, maps the objects to their paths in TO (which `repo` must hold), and, unless
    /// told not to, measures the advice for compressed streams.
    public static func explain(_ location: DeltaLocation, repo: Repository,
                               options: ExplainOptions = ExplainOptions()) throws -> ExplainReport {
        let started = Date()
        var entries: [Entry] = []
        let inspection = try location.inspect { index, header, payload in
            let payloadIndex = try PartPayloadIndex(payload)
            let shares = try PartShares.split(payloadIndex, objects: header.objects)
            let weights = try Attribution.weights(shares, in: payloadIndex)
            for (share, bytes) in zip(shares, Attribution.scale(weights, to: header.size)) {
                entries.append(Entry(object: share.object, encoding: share.encoding, part: index,
                                     newSize: share.newSize, source: share.source, bytes: bytes))
            }
        }
        let sb = inspection.superblock
        for f in sb.fallbacks {
            entries.append(Entry(object: f.object, encoding: .fallback, part: nil, newSize: f.uncompressedSize,
                                 source: nil, bytes: f.compressedSize))
        }
        let toPaths = try treePaths(repo, sb.name.to, "TO")
        // FROM is optional: without it, old sizes and the advice are left out, nothing else.
        var fromPaths: TreePaths? = nil
        if let from = sb.name.from, (try? repo.has(ObjectName(from, .commit))) == true {
            fromPaths = try treePaths(repo, from, "FROM")
        }

        var objects: [ObjectCost] = []
        var streamCandidates: [StreamAdvisor.Candidate] = []
        for e in entries {
            let paths = toPaths.paths[e.object] ?? []
            let path = paths.first ?? "(unreachable)"
            var cost = ObjectCost(checksum: e.object.checksum.hex, type: e.object.type.name, path: path,
                                  otherPaths: max(0, paths.count - 1), kind: .metadata, encoding: e.encoding,
                                  part: e.part, oldSize: nil, newSize: e.newSize, bytes: e.bytes)
            if e.object.type == .file {
                let (head, isSymlink) = try contentHead(repo, e.object.checksum)
                cost.kind = ObjectKind.classify(path: path, head: head, isSymlink: isSymlink)
                let samePath = fromPaths?.fileAt[path].flatMap { $0 == e.object.checksum ? nil : $0 }
                // The old size is that of what the delta was built from; the advice diffs the
                // version at the same path, as deltagen pairs first, whichever generator made
                // the delta (ostree pairs by basename and size, sometimes with another file).
                if let old = e.source ?? samePath, let header = try? repo.loadContent(old).header {
                    cost.oldSize = header.size
                }
                if let old = samePath ?? e.source, let format = StreamFormat(magicOf: head), cost.kind != .kernelImage {
                    streamCandidates.append(.init(format: format, new: e.object.checksum, old: old,
                                                  path: path, deltaBytes: e.bytes))
                }
            }
            objects.append(cost)
        }
        objects.sort { $0.bytes != $1.bytes ? $0.bytes > $1.bytes : ($0.path, $0.checksum) < ($1.path, $1.checksum) }

        let streams = try StreamAdvisor.advise(streamCandidates, repo: repo, measure: options.measureStreams)
        return ExplainReport(
            from: sb.name.from?.hex, to: sb.name.to.hex, method: Attribution.method,
            totalSize: inspection.totalSize, totalPartSize: inspection.totalPartSize,
            totalFallbackSize: inspection.totalFallbackSize, totalUncompressedSize: inspection.totalUncompressedSize,
            parts: sb.parts.count,
            byKind: Bucket.group(objects) { $0.kind.rawValue },
            byEncoding: Bucket.group(objects) { $0.encoding.rawValue },
            byDirectory: Bucket.group(objects, by: Bucket.directory(of:)),
            costliest: Array(objects.prefix(ExplainReport.costliestCount)),
            objects: objects,
            advice: Advice(streams: streams, kernelImages: objects.filter { $0.kind == .kernelImage }),
            elapsedSeconds: Date().timeIntervalSince(started))
    }

    private static func treePaths(_ repo: Repository, _ commit: Checksum, _ which: String) throws -> TreePaths {
        guard (try? repo.has(ObjectName(commit, .commit))) == true else {
            throw InsightError("the repository does not hold the delta's \(which) commit \(commit.hex); pass the --repo that does")
        }
        return try TreePaths(repo: repo, commit: commit)
    }

    /// The first bytes of a content object, enough to classify it.
    static func contentHead(_ repo: Repository, _ checksum: Checksum) throws -> (head: [UInt8], isSymlink: Bool) {
        let object: ContentObject
        do {
            object = try repo.loadContent(checksum)
        } catch let e as RepositoryError {
            throw InsightError("cannot read \(checksum.hex).file from the repository: \(e.message)")
        }
        if object.header.isSymlink { return ([], true) }
        return (try object.stream?.read(upTo: ObjectKind.headSize) ?? [], false)
    }
}
