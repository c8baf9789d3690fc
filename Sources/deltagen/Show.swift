import ArgumentParser
import DeltaCompiler
import DeltaFormat
import Foundation

struct Show: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Describe a static delta: parts, ops, fallbacks and totals.",
        discussion: """
            DELTA is FROMHEX-TOHEX or TOHEX (a from-scratch delta) in the repository's deltas/, \
            or a path containing a slash to a superblock file whose parts sit beside it. \
            Inline deltas are read from the superblock.

            Every part is read, its checksum checked, decompressed and its ops dry-run. The \
            output follows `ostree static-delta show` and ends with the same "Total Size:" and \
            "Total Uncompressed Size:" lines, with equal numbers for the same delta.
            """)

    @OptionGroup var repoOptions: RepoOptions

    @Argument(help: ArgumentHelp("The delta to show.", valueName: "DELTA"))
    var delta: String

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    func run() throws {
        try reportingErrors {
            let inspection = try locateDelta(delta, repo: { try repoOptions.open() }).inspect()
            if json {
                try printJSON(ShowJSON(inspection))
            } else {
                printText(inspection)
            }
        }
    }

    private func printText(_ d: DeltaInspection) {
        let sb = d.superblock
        func sized(_ n: UInt64) -> String { "\(n) (\(DeltaReader.humanSize(n)))" }
        print("Delta: \(delta)")
        print("Signed: \(d.decoded.signed ? "yes" : "no")")
        if let from = sb.name.from { print("From: \(from.hex)") } else { print("From <scratch>") }
        print("To: \(sb.name.to.hex)")
        print("Endianness: \(d.decoded.endianness == .unknown ? "invalid" : d.decoded.endianness.rawValue)")
        print("Timestamp: \(sb.timestamp)")
        print("Number of parents: \(d.decoded.dependencyCount)")
        print("Number of fallback entries: \(sb.fallbacks.count)")
        for f in sb.fallbacks { print("  \(f.object.checksum.hex)") }
        print("Total Fallback Size: \(sized(d.totalFallbackSize))")
        print("Total Fallback Uncompressed Size: \(sized(d.totalFallbackUncompressedSize))")
        print("Number of parts: \(sb.parts.count)")
        for p in d.parts {
            print("PartMeta\(p.index): nobjects=\(p.objects) size=\(p.size) usize=\(p.uncompressedSize)")
            print("PartPayload\(p.index): nmodes=\(p.modes) nxattrs=\(p.xattrSets) blobsize=\(p.blobSize) opsize=\(p.opSize)")
            let ops = Opcode.showOrder.map { "\($0.showName)=\(p.opCounts[$0.showName] ?? 0)" }.joined(separator: " ")
            print("PartPayloadOps\(p.index): \(ops)")
        }
        print("Total Part Size: \(sized(d.totalPartSize))")
        print("Total Part Uncompressed Size: \(sized(d.totalPartUncompressedSize))")
        print("Total Size: \(sized(d.totalSize))")
        print("Total Uncompressed Size: \(sized(d.totalUncompressedSize))")
    }
}

/// `show --json`: the same facts as the text, with names a program can rely on.
struct ShowJSON: Encodable {
    struct Fallback: Encodable {
        var checksum: String
        var size: UInt64
        var uncompressedSize: UInt64
    }
    var from: String?
    var to: String
    var signed: Bool
    var endianness: String
    var timestamp: UInt64
    var inline: Bool
    var fallbacks: [Fallback]
    var parts: [PartSummary]
    var totalFallbackSize: UInt64
    var totalFallbackUncompressedSize: UInt64
    var totalPartSize: UInt64
    var totalPartUncompressedSize: UInt64
    var totalSize: UInt64
    var totalUncompressedSize: UInt64

    init(_ d: DeltaInspection) {
        let sb = d.superblock
        from = sb.name.from?.hex
        to = sb.name.to.hex
        signed = d.decoded.signed
        endianness = d.decoded.endianness.rawValue
        timestamp = sb.timestamp
        inline = !sb.inlineParts.isEmpty
        fallbacks = sb.fallbacks.map { Fallback(checksum: $0.object.checksum.hex, size: $0.compressedSize,
                                               uncompressedSize: $0.uncompressedSize) }
        parts = d.parts
        totalFallbackSize = d.totalFallbackSize
        totalFallbackUncompressedSize = d.totalFallbackUncompressedSize
        totalPartSize = d.totalPartSize
        totalPartUncompressedSize = d.totalPartUncompressedSize
        totalSize = d.totalSize
        totalUncompressedSize = d.totalUncompressedSize
    }
}
