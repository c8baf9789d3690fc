import ArgumentParser
import DeltaCompiler
import DeltaFactory
import DeltaFormat
import Foundation

struct GenerateDelta: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate-delta",
        abstract: "Generate a static delta between two commits, or from scratch.",
        discussion: """
            FROM and TO are refs or full 64-hex commit checksums. With --empty the delta \
            carries all of TO and applies to a repository that has nothing yet. With TO alone, \
            FROM is TO's parent, as in `ostree static-delta generate`.

            Every object reachable from TO and not from FROM goes into the delta. New regular \
            files larger than --min-fallback-size become fallback entries, which a client \
            fetches loose from an archive repository; use --min-fallback-size 0 for a \
            self-contained delta that `ostree static-delta apply-offline` accepts.

            The delta is built in the repository's tmp/ and renamed into deltas/ only when it \
            is complete, so a crash or an error never leaves a partial delta visible. After \
            publishing deltas, run `ostree summary -u` so that clients find them.

            The superblock timestamp is TO's commit time unless --timestamp is given, so the \
            same inputs give byte-identical files.
            """)

    @OptionGroup var repoOptions: RepoOptions

    @Argument(help: ArgumentHelp("The commit to delta from (omit with --empty).", valueName: "FROM"))
    var from: String?

    @Argument(help: ArgumentHelp("The commit to delta to.", valueName: "TO"))
    var to: String?

    @Flag(help: "Generate a from-scratch delta containing all of TO.")
    var empty = false

    @OptionGroup var partSize: PartSizeOptions

    @OptionGroup var encoding: EncodingOptions

    @Flag(inversion: .prefixedNo, help: ArgumentHelp(
        "Replay the finished delta against the repository (as `deltagen verify` does) before publishing it.",
        discussion: "On by default; a delta that fails is not published."))
    var verify = true

    @Flag(help: "Store the parts inside the superblock instead of as separate files.")
    var inline = false

    @Option(help: ArgumentHelp("Write the superblock to PATH instead of the repository's deltas/; part files go beside it.", valueName: "PATH"))
    var filename: String?

    @Flag(name: [.customShort("n"), .customLong("if-not-exists")], help: "Do nothing if the repository already has this delta.")
    var ifNotExists = false

    @Option(help: ArgumentHelp("Superblock timestamp in Unix seconds, 0–\(Int64.max) (default: TO's commit time).", valueName: "SECONDS"))
    var timestamp: NumberArgument?

    @Flag(help: "Print the summary as one JSON object.")
    var json = false

    @Flag(name: [.short, .long], help: "Print nothing but errors: no progress and no summary.")
    var quiet = false

    func validate() throws {
        if empty && to != nil { throw ValidationError("Cannot specify both --empty and FROM") }
        if from == nil { throw ValidationError("TO revision must be specified") }
        _ = try timestamp?.integer("--timestamp", Limits.timestamp, unit: "seconds")
        if let filename, filename.isEmpty || filename.hasSuffix("/") {
            throw ValidationError("--filename must name a file, not a directory")
        }
    }

    func run() throws {
        try reportingErrors {
            var options = try encoding.deltaOptions(partSize: partSize)
            options.inline = inline
            options.filename = filename
            options.ifNotExists = ifNotExists
            options.timestamp = try timestamp?.integer("--timestamp", Limits.timestamp).magnitude
            options.verify = verify
            let printer = quiet ? nil : ProgressPrinter()
            if let printer { options.progress = { printer.handle($0) } }
            defer { printer?.finish() }

            // One positional argument is TO; two are FROM TO.
            let toRev = to ?? from!
            let fromRev: String? = empty ? nil : (to == nil ? "\(toRev)^" : from)
            let outcome = try SingleDelta.generate(in: try repoOptions.open(), from: fromRev, to: toRev, options: options)
            printer?.finish()
            switch outcome {
            case .alreadyExists(let existing):
                if !quiet { print("Delta \(existing) already exists.") }
            case .generated(let report):
                if quiet { return }
                if json { try printJSON(report) } else { printSummary(report) }
            }
        }
    }

    private func printSummary(_ r: DeltaReport) {
        print("Generated static delta \(r.name)")
        print("  superblock: \(r.superblockPath)\(r.inline ? " (parts inline)" : "")")
        print("  parts: \(r.parts), \(r.partBytes) bytes compressed, \(r.partUncompressedBytes) bytes uncompressed")
        print("  fallbacks: \(r.fallbacks), \(r.fallbackBytes) bytes, \(r.fallbackUncompressedBytes) bytes uncompressed")
        print("  objects: \(r.objects) in parts (\(r.bsdiffObjects) bsdiff, \(r.rollsumObjects) rollsum)")
        print("  total: \(r.totalBytes) bytes (\(r.totalUncompressedBytes) uncompressed)")
        print("  elapsed: \(String(format: "%.2f", r.elapsedSeconds)) s")
    }
}
