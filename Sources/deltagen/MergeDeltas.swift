import ArgumentParser
import DeltaFactory

struct MergeDeltas: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge-deltas",
        abstract: "Merge deltas built by fan-out CI jobs into one repository, with stats and indexes.",
        discussion: """
            Each DIR is what one fan-out job uploaded: a repository (its deltas/ is read), or \
            a deltas/ directory itself. Every delta in it is read back first (part checksums, \
            decompression, an op dry-run); one that fails stops the merge before anything is \
            copied. Each delta is then copied into the repository's tmp/ and renamed into \
            deltas/ under the repository's publish lock, as generate-delta publishes (each \
            file and directory fsynced, one rename or exchange). A delta the repository \
            already has with the same bytes is left alone; one with other bytes is replaced.

            Each delta's `deltagen explain` report goes to ARCHIVE/explain/<from>-<to>.json: \
            made here when the repository holds the delta's commits, else taken from the \
            explain/ directory beside the input's deltas/ (a fan-out ci-job writes it to its \
            ARCHIVE/explain/), after checking that it explains this delta.

            Then, as `deltagen ci-job` does: ARCHIVE/<to>.json is merged with the new stats \
            (canonical JSON, earlier froms kept), core.indexed-deltas=true is set, and the \
            summary and every delta index are rewritten through libostree. The repository \
            does not need the commits' objects: the indexes and summary only read superblocks.

            The repository is created (archive mode) if it does not exist. The stats equal \
            those ci-job writes for the same deltas, byte for byte.
            """)

    @Argument(help: ArgumentHelp("Directories holding deltas from fan-out jobs.", valueName: "DIR"))
    var directories: [String]

    @Option(help: ArgumentHelp("The repository to merge into.", valueName: "PATH"))
    var repo: String

    @Option(help: ArgumentHelp("Where the stats files go (default: the current directory's archive/).", valueName: "ARCHIVE"))
    var archive: String = "archive"

    @Option(help: ArgumentHelp("Then publish the repository and stats into DEST, as `deltagen publish` does.", valueName: "DEST"))
    var publish: String?

    func validate() throws {
        if directories.isEmpty { throw ValidationError("Give at least one DIR") }
    }

    func run() throws {
        try reportingErrors {
            try DeltaMerger(directories: directories, repo: repo, archive: archive).run(output: { print($0) })
            if let publish { try Publisher(repo: repo, destination: publish, archive: archive).run(output: { print($0) }) }
        }
    }
}
