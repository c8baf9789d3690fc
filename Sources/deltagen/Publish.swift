import ArgumentParser
import DeltaFactory

struct Publish: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "publish",
        abstract: "Copy a repository's new objects, deltas, indexes, stats and summary into a served directory, in a client-safe order.",
        discussion: """
            DEST is a plain directory that clients pull from over HTTP: a web root, a mounted \
            bucket, an NFS export. It holds, or will hold, an archive-mode repository. Files \
            are brought over in an order that keeps DEST valid for a client at every moment: \
            config; objects (file contents, directory metadata, trees, then commits); each \
            delta's parts, then its superblock; delta-indexes; delta-stats \
            (ARCHIVE/<to>.json as DEST/delta-stats/<to>.json, with --archive); refs; and \
            the summary, then summary.sig, last. A delta DEST holds with other bytes is \
            first taken out of DEST's delta indexes and loses its old superblock, so no \
            client reads an index naming a missing or different superblock.

            Each file is written under a temporary name in its final directory, fsynced, \
            renamed, and the directory fsynced; a kill leaves every file old or new, and a \
            rerun completes the copy. A file DEST already holds is skipped: an object when \
            its name and size match (objects are content-addressed), any other file when \
            its bytes match. Nothing is ever removed from DEST (see `deltagen prune`).

            The run holds the publish lock of the repository and of DEST, as generate-delta, \
            ci-job and merge-deltas do: no writer changes either while it copies.
            """)

    @Argument(help: ArgumentHelp("The served directory.", valueName: "DEST"))
    var destination: String

    @Option(help: ArgumentHelp("The repository to publish.", valueName: "PATH"))
    var repo: String

    @Option(help: ArgumentHelp("Also publish the stats files in ARCHIVE as DEST/delta-stats/.", valueName: "ARCHIVE"))
    var archive: String?

    @Flag(help: "List the files that would be copied, and change nothing.")
    var dryRun = false

    func run() throws {
        try reportingErrors {
            try Publisher(repo: repo, destination: destination, archive: archive).run(dryRun: dryRun, output: { print($0) })
        }
    }
}
