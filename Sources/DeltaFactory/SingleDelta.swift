import DeltaCompiler
import DeltaPlanning
import DeltaFormat
import Foundation
import OSTreeRepo

/// `generate-delta`: one delta, from revs as an operator types them.
public enum SingleDelta {
    public enum Outcome {
        case generated(DeltaReport)
        /// `--if-not-exists` found the delta in place; nothing was written.
        case alreadyExists(DeltaName)
    }

    /// Resolves `from` (nil: a from-scratch delta) and `to` in `repo`, then generates and
    /// publishes the delta with `options`.
    public static func generate(in repo: Repository, from: String?, to: String, options: DeltaOptions) throws -> Outcome {
        let name = DeltaName(from: try from.map { try RepositoryAccess.resolve($0, in: repo, role: "FROM") },
                             to: try RepositoryAccess.resolve(to, in: repo, role: "TO"))
        do {
            return .generated(try DeltaGenerator(repo: repo, options: options).generate(name))
        } catch GenerateError.alreadyExists(let existing) {
            return .alreadyExists(existing)
        }
    }
}

/// `bench-parts`: one delta generated once per part size into a scratch directory, each
/// read back for its parts and bytes, and the object-by-object pull of the same update.
public struct ChunkSizeBench {
    public var sizesMB: [Double]
    public var options: DeltaOptions
    public var model: DownloadModel

    public init(sizesMB: [Double], options: DeltaOptions, model: DownloadModel) {
        self.sizesMB = sizesMB
        self.options = options
        self.model = model
    }

    public func run(in repo: Repository, from: String, to: String) throws -> (name: DeltaName, rows: [BenchRow], pull: ObjectPullCost) {
        let name = DeltaName(from: try RepositoryAccess.resolve(from, in: repo, role: "FROM"),
                             to: try RepositoryAccess.resolve(to, in: repo, role: "TO"))
        let scratch = try FactoryFiles.makeTemporaryDirectory(in: NSTemporaryDirectory(), prefix: "deltagen-bench")
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        var rows: [BenchRow] = []
        for (i, size) in sizesMB.enumerated() {
            var options = self.options
            // The caller keeps each size within the MB limit, so this cannot overflow.
            options.maxChunkSize = max(1, Int(size * 1_000_000))
            options.filename = "\(scratch)/\(i)/superblock"
            try FactoryFiles.createDirectory("\(scratch)/\(i)", what: "the directory")
            do {
                _ = try DeltaGenerator(repo: repo, options: options).generate(name)
            } catch {
                throw FactoryError("generating \(name) with --max-chunk-size \(size): \(plainReason(error))",
                                   causedBy: error, fallback: .deltaWork)
            }
            let d = try DeltaLocation(superblockPath: options.filename!).inspect()
            let superblock = ((try? FileManager.default.attributesOfItem(atPath: options.filename!))?[.size] as? UInt64) ?? 0
            var row = BenchRow(chunkSizeMB: size, parts: d.parts.count, fallbacks: d.superblock.fallbacks.count,
                               totalBytes: d.totalSize, uncompressedBytes: d.totalUncompressedSize,
                               largestPart: d.parts.map(\.size).max() ?? 0,
                               largestPartUncompressed: d.parts.map(\.uncompressedSize).max() ?? 0,
                               superblockBytes: superblock)
            row.modelledSeconds = model.deltaSeconds(row)
            rows.append(row)
            try? FileManager.default.removeItem(atPath: "\(scratch)/\(i)")
        }
        var pull = try objectPull(repo, name)
        pull.modelledSeconds = model.objectPullSeconds(objects: pull.objects, bytes: pull.bytes)
        return (name, rows, pull)
    }

    /// What a pull without deltas fetches: every object of TO that FROM lacks, at its stored size.
    private func objectPull(_ repo: Repository, _ name: DeltaName) throws -> ObjectPullCost {
        let needed = try repo.traverse(commit: name.to).subtracting(try repo.traverse(commit: name.from!))
        var bytes: UInt64 = 0
        for object in needed { bytes += try repo.storageSize(of: object) }
        return ObjectPullCost(objects: needed.count, bytes: bytes)
    }
}
