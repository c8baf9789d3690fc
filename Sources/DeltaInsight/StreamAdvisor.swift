import DeltaCompiler
import DeltaFormat
import OSTreeRepo

/// Measures what changed compressed streams would cost if the image shipped them
/// uncompressed: both versions are decompressed, diffed with the encodings deltagen
/// chooses between (bsdiff, rollsum, literal; the smallest by xz preset 0, as the
/// generator ranks them), and the chosen results, with their ops and source checksums,
/// compressed together in one stream with the settings parts use.
public enum StreamAdvisor {
    public struct Candidate {
        public var format: StreamFormat
        public var new: Checksum
        public var old: Checksum
        public var path: String
        public var deltaBytes: UInt64
        public init(format: StreamFormat, new: Checksum, old: Checksum, path: String, deltaBytes: UInt64) {
            self.format = format
            self.new = new
            self.old = old
            self.path = path
            self.deltaBytes = deltaBytes
        }
    }

    /// deltagen's bound on old + new for bsdiff (DeltaOptions.maxBsdiffSize).
    static let maxBsdiffSize = DeltaOptions().maxBsdiffSize

    public static func advise(_ candidates: [Candidate], repo: Repository, measure: Bool) throws -> [StreamAdvice] {
        var result: [StreamAdvice] = []
        for format in StreamFormat.allCases {
            let files = candidates.filter { $0.format == format }
            guard !files.isEmpty else { continue }
            var advice = StreamAdvice(format: format, changedFiles: files.count,
                                      deltaBytes: files.reduce(0) { $0 + $1.deltaBytes },
                                      measuredFiles: 0, measuredDeltaBytes: 0, uncompressedCost: nil, note: nil)
            guard measure else {
                advice.note = "not measured (--no-measure)"
                result.append(advice)
                continue
            }
            let part = try XZ.StreamEncoder(settings: .parts)
            var ops = [UInt8]()
            var skipped = 0
            var tooBig = 0
            for file in files {
                guard let oldFile = try read(repo, file.old), let newFile = try read(repo, file.new) else {
                    tooBig += 1
                    continue
                }
                guard let old = try? Decompression.decompress(oldFile, format),
                      let new = try? Decompression.decompress(newFile, format) else {
                    skipped += 1
                    continue
                }
                try encode(old: old, new: new, source: file.old, into: part, ops: &ops)
                advice.measuredFiles += 1
                advice.measuredDeltaBytes += file.deltaBytes
            }
            if advice.measuredFiles > 0 {
                try part.append(ops)
                advice.uncompressedCost = UInt64(try part.finish().count)
            }
            var notes: [String] = []
            if skipped > 0 {
                notes.append(format == .zstd || format == .bzip2
                    ? "\(skipped) not measured: no \(format.rawValue) decoder is linked into deltagen"
                    : "\(skipped) not measured: a version did not decompress")
            }
            if tooBig > 0 { notes.append("\(tooBig) not measured: a version is over \(maxMeasuredSize >> 20) MiB") }
            if !notes.isEmpty { advice.note = notes.joined(separator: "; ") }
            result.append(advice)
        }
        return result
    }

    /// Appends to `part` what deltagen would ship for `new` given `old`, and its ops to `ops`.
    static func encode(old: [UInt8], new: [UInt8], source: Checksum, into part: XZ.StreamEncoder, ops: inout [UInt8]) throws {
        func estimate(_ bytes: [UInt8]) -> Int { (try? XZ.compress(bytes, preset: 0).count) ?? bytes.count }
        var best: (blob: [UInt8], instructions: [Instruction], size: Int) =
            (new, [.open(modeIndex: 0, xattrIndex: 0, size: UInt64(new.count)), .write(size: UInt64(new.count), offset: 0), .close],
             estimate(new))
        if UInt64(old.count + new.count) <= maxBsdiffSize {
            let patch = Bsdiff.diff(old: old, new: new)
            let size = estimate(patch) + 40
            if size < best.size {
                best = (source.bytes + patch, [.open(modeIndex: 0, xattrIndex: 0, size: UInt64(new.count)), .setReadSource(offset: 0),
                                               .bspatch(offset: 32, length: UInt64(patch.count)), .unsetReadSource, .close], size)
            }
        }
        let rollsum = Rollsum.match(old: old, new: new)
        if rollsum.matchedChunks > 0 {
            var gaps = [UInt8]()
            var instructions: [Instruction] = [.open(modeIndex: 0, xattrIndex: 0, size: UInt64(new.count)), .setReadSource(offset: 0)]
            var cursor = 0
            for m in rollsum.matches {
                if m.newOffset > cursor { gaps.append(contentsOf: new[cursor..<m.newOffset]) }
                instructions.append(.write(size: UInt64(m.length), offset: UInt64(m.oldOffset)))
                cursor = m.newOffset + m.length
            }
            gaps.append(contentsOf: new[cursor...])
            let size = estimate(gaps) + 12 * rollsum.matches.count + 40
            if size < best.size { best = (source.bytes + gaps, instructions + [.unsetReadSource, .close], size) }
        }
        try part.append(best.blob)
        for i in best.instructions { i.append(to: &ops) }
    }

    /// The biggest compressed file measured: the advice holds old and new, compressed and
    /// not, in memory, so this bounds explain's memory whatever the image ships.
    static let maxMeasuredSize: UInt64 = 64 << 20

    /// The file's bytes, or nil when it is over `maxMeasuredSize`.
    private static func read(_ repo: Repository, _ checksum: Checksum) throws -> [UInt8]? {
        do {
            let object = try repo.loadContent(checksum)
            guard object.header.size <= maxMeasuredSize else { return nil }
            return try object.readAll()
        } catch let e as RepositoryError {
            throw InsightError("cannot read \(checksum.hex).file from the repository: \(e.message)")
        }
    }
}
