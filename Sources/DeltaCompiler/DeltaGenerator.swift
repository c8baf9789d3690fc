import CLinuxShim
import DeltaFormat
import Foundation
import OSTreeRepo

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

    /// A generator allocates and frees many buffers of megabytes (file contents, suffix
    /// arrays, patches, decoded parts) on several threads. Left in glibc's heap they keep
    /// their pages once freed, and peak RSS grows with how the threads interleave; mapped
    /// on their own, they are returned at once, for a little more system time
    /// (docs/benchmarks.md). Once per process.
    private static let largeBuffersMapped: Bool = deltagen_map_large_allocations(4 << 20) != 0

    /// Generates `name` and returns what was written. Nothing is visible until the delta is complete.
    /// Every failure is a `GenerateError` or a `WalkError`, both `ClassifiedError`s.
    public func generate(_ name: DeltaName) throws -> DeltaReport {
        do {
            return try generateUnwrapped(name)
        } catch {
            throw GenerateError.wrapping(error)
        }
    }

    private func generateUnwrapped(_ name: DeltaName) throws -> DeltaReport {
        let started = Date()
        var options = self.options
        _ = DeltaGenerator.largeBuffersMapped
        if let from = name.from, from == name.to { throw GenerateError.sameCommit(from) }
        try requireCommit(name.to, role: "TO")
        if let from = name.from { try requireCommit(from, role: "FROM") }
        // -n looks in the repo's deltas/ even with --filename, as ostree does.
        if options.ifNotExists && FileOps.exists("\(repo.path)/\(name.relativePath)/superblock") {
            throw GenerateError.alreadyExists(name)
        }

        let slots = CoreSlots(count: options.jobs)
        let watchdog = StallWatchdog(limit: options.stallTimeout, activity: { slots.activity },
                                     onStall: options.onStall)
        defer { watchdog.stop() }
        let userReport = options.progress ?? { _ in }
        let report: ProgressHandler = { event in
            if case .phase(let stage) = event { watchdog.progressed(stage: stage) } else { watchdog.progressed() }
            userReport(event)
            if case .phase(let stage) = event { TestHooks.enter(stage: stage) }
        }
        report(.phase("scanning"))
        let target = try CommitWalker.walk(repo, commit: name.to)
        let fromTree = try name.from.map { try CommitWalker.walk(repo, commit: $0, keepAllPaths: true) }
        let known = fromTree?.all ?? []
        report(.phase("pairing"))
        let planned = try planContent(target: target, known: known, fromTree: fromTree)
        options.jobs = try fitJobs(options, planned: planned, objects: target.all.count + known.count, report: report)
        slots.resize(to: options.jobs)

        // Every part carries the tables of the whole delta, because a part is compressed from
        // its first byte on and its tables come before its blob. They are a few bytes each.
        let tables = ContentPlan.tables(planned)
        // Metadata first (the to commit travels in the superblock), then content in plan order.
        let metadata = try target.metadata.filter { $0.type != .commit && !known.contains($0) }
            .map { ($0, try repo.loadMetadata($0)) }
        let layout = PartLayout(metadataSizes: metadata.map { $0.1.count },
                                contentSizes: planned.map(PartLayout.expectedSize),
                                tableSize: PartPayload.head(modes: tables.modes, xattrSets: tables.xattrSets).count,
                                maxChunkSize: options.maxChunkSize)

        let staging = try StagingDirectory(repo: repo, filename: options.filename)
        defer { staging.discard() }
        // With verification on, each part is replayed as soon as it is written, alongside the
        // parts still compressing; the final check then reuses the replay for the same bytes.
        let replayed = ReplayedParts()
        let verifier = DeltaVerifier(repo: repo)
        // Rung by workers and compressors whenever the packer may be able to move on.
        let doorbell = Doorbell()
        let repoPath = repo.path
        let replay: @Sendable (Int, PartCompressor.WrittenPart, PartHeader) -> Void = { index, part, header in
            replayed.add(index, DeltaVerifier.replayPart(index, part, header: header, repoPath: repoPath, fromObjects: known))
        }
        let compressor = PartCompressor(
            jobs: options.jobs, slots: slots, doorbell: doorbell, totalParts: layout.parts.count, settings: options.xzSettings,
            inline: options.inline, directory: staging.path, progress: report, onWritten: options.verify ? replay : nil)
        // Runs before staging.discard(): a part still being written must not land in a
        // directory that is being removed, or the removal fails and leaves it behind.
        defer { compressor.drain() }
        let encoder = try ContentEncoder(repoPath: repo.path, options: options)
        report(.phase("encoding"))
        let session = encoder.start(planned, slots: slots, doorbell: doorbell)
        defer { session.stop() }
        let packed = try PartPacker(layout: layout, metadata: metadata, tables: tables,
                                    compressor: compressor, doorbell: doorbell, report: report)
            .pack(session, total: planned.count)
        let (partCount, objectCount, fallbacks) = (packed.partCount, packed.objectCount, packed.fallbacks)
        let (rollsumCount, bsdiffCount) = (packed.rollsumCount, packed.bsdiffCount)
        report(.phase("compressing"))
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
        if options.verify {
            report(.phase("verifying"))
            let checks = verifier.verify(DeltaLocation(superblockPath: staging.path + "/superblock"),
                                         replayed: replayed.all)
            if let failure = checks.first(where: { !$0.passed }) { throw GenerateError.verificationFailed(failure) }
        }
        report(.phase("writing"))
        let destination = try staging.publish(name: name, partCount: options.inline ? 0 : partCount)

        let partBytes = parts.reduce(0) { $0 + $1.header.size }
        let partUBytes = parts.reduce(0) { $0 + $1.header.uncompressedSize }
        let fbBytes = fallbacks.reduce(0) { $0 + $1.compressedSize }
        let fbUBytes = fallbacks.reduce(0) { $0 + $1.uncompressedSize }
        return DeltaReport(
            name: name.description, from: name.from?.hex, to: name.to.hex, superblockPath: destination,
            inline: options.inline, parts: partCount, partBytes: partBytes, partUncompressedBytes: partUBytes,
            fallbacks: fallbacks.count, fallbackBytes: fbBytes, fallbackUncompressedBytes: fbUBytes,
            objects: objectCount, rollsumObjects: rollsumCount, bsdiffObjects: bsdiffCount,
            totalBytes: partBytes + fbBytes, totalUncompressedBytes: partUBytes + fbUBytes,
            superblockBytes: UInt64(superblockBytes.count),
            elapsedSeconds: Date().timeIntervalSince(started))
    }

    /// `options.jobs`, lowered if the memory model says it would not fit the memory limit
    /// (`--memory-limit`, else the cgroup's); an error if even one job would not.
    private func fitJobs(_ options: DeltaOptions, planned: [PlannedContent], objects: Int,
                         report: ProgressHandler) throws -> Int {
        guard let limit = options.memoryLimit ?? MemoryModel.cgroupLimit() else { return options.jobs }
        var largest: (old: UInt64, new: UInt64)? = nil
        if options.bsdiffEnabled {
            for item in planned where item.predecessor != nil && item.predecessorSize + item.header.size <= options.maxBsdiffSize {
                let cost = Bsdiff.workingMemory(oldSize: Int(item.predecessorSize), newSize: Int(item.header.size))
                if largest.map({ cost > Bsdiff.workingMemory(oldSize: Int($0.old), newSize: Int($0.new)) }) ?? true {
                    largest = (item.predecessorSize, item.header.size)
                }
            }
        }
        let model = MemoryModel(options: options, largestBsdiff: largest, objects: objects)
        let mb = { (bytes: UInt64) in (bytes + 999_999) / 1_000_000 }
        guard let jobs = model.jobs(fitting: limit, wanted: options.jobs) else {
            throw GenerateError.memoryLimit(limit: mb(limit), needed: mb(model.estimate(jobs: 1)))
        }
        if jobs < options.jobs {
            report(.notice("memory limit \(mb(limit)) MB: running \(jobs) jobs instead of \(options.jobs) (\(mb(model.estimate(jobs: jobs))) MB expected)"))
        }
        return jobs
    }

    /// Reads the header of every new content object and pairs modified files with their predecessors.
    private func planContent(target: ReachableObjects, known: Set<ObjectName>,
                             fromTree: ReachableObjects?) throws -> [PlannedContent] {
        let index = fromTree.map { PredecessorIndex(files: $0.allFiles) }
        var oldHeaders: [Checksum: ContentHeader?] = [:]
        func oldHeader(_ c: Checksum) -> ContentHeader? {
            if let cached = oldHeaders[c] { return cached }
            let h = try? repo.loadContent(c).header
            oldHeaders[c] = h
            return h
        }
        var planned: [PlannedContent] = []
        for checksum in target.content where !known.contains(ObjectName(checksum, .file)) {
            let header: ContentHeader
            do {
                header = try repo.loadContent(checksum).header
            } catch let e as RepositoryError {
                throw WalkError.reading(ObjectName(checksum, .file), in: repo, e)
            }
            let path = target.firstPath[checksum] ?? ""
            var item = PlannedContent(checksum: checksum, path: path, header: header, predecessor: nil)
            if !header.isSymlink && (options.bsdiffEnabled || options.rollsumEnabled) {
                item.predecessor = index?.predecessor(path: path, size: header.size, header: oldHeader)
                item.predecessorSize = item.predecessor.flatMap { oldHeader($0)?.size } ?? 0
            }
            planned.append(item)
        }
        return ContentPlan.order(planned)
    }

    private func requireCommit(_ checksum: Checksum, role: String) throws {
        if try repo.has(ObjectName(checksum, .commit)) { return }
        for type in [ObjectType.dirTree, .dirMeta, .file] where try repo.has(ObjectName(checksum, type)) {
            throw GenerateError.notACommit(role: role, checksum, actualType: type)
        }
        throw GenerateError.notACommit(role: role, checksum, actualType: nil)
    }
}

/// Parts replayed during generation, by index.
private final class ReplayedParts: Sendable {
    private let parts = Monitor<[Int: ReplayedPart]>([:])
    func add(_ index: Int, _ part: ReplayedPart) { parts.withLock { $0[index] = part } }
    var all: [Int: ReplayedPart] { parts.withLock { $0 } }
}
