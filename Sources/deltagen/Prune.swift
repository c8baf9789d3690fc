import ArgumentParser
import DeltaFactory
import DeltaPlanning

struct Prune: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune",
        abstract: "Remove deltas whose from-commit no device needs, with their stats and index entries.",
        discussion: """
            The from-commits to keep are given with --keep-from (versions, which need \
            --targets, or 64-hex commits), or read from the factory status file with \
            --status: the non-orphan versions devices run on tag --by-tag T (every tag \
            without it), in the CI and production lists as `deltagen plan --by-tag` reads \
            them, mapped to commits through --targets. A version with no Target stops the \
            prune. Every delta from any other commit is removed; from-scratch deltas, \
            commits and objects are never touched.

            The removed deltas first leave the delta indexes (rewritten through a temporary \
            file and a rename), so no client is sent to a superblock that is gone. Then each \
            delta loses its superblock, then its parts and directory. Then the stats files \
            (ARCHIVE/<to>.json and the repository's own delta-stats/, if any) drop the \
            removed entries, the same way, and the summary is regenerated. All of it \
            happens under the repository's publish lock.

            --dry-run prints the plan and changes nothing.
            """)

    @Option(help: ArgumentHelp("The repository to prune (it may be a published DEST).", valueName: "PATH"))
    var repo: String

    @Option(parsing: .upToNextOption, help: ArgumentHelp("Keep deltas from these versions or commits.", valueName: "V"))
    var keepFrom: [String] = []

    @Option(help: ArgumentHelp("The factory status JSON: keep the versions devices run.", valueName: "FILE"))
    var status: String?

    @Option(help: ArgumentHelp("With --status, only this tag's versions.", valueName: "TAG"))
    var byTag: String?

    @Option(help: ArgumentHelp("The factory's TUF targets.json, mapping versions to commits.", valueName: "FILE"))
    var targets: String?

    @Option(help: ArgumentHelp("Stats directory whose <to>.json files lose the removed entries.", valueName: "ARCHIVE"))
    var archive: String?

    @Flag(help: "Print what would be removed, and change nothing.")
    var dryRun = false

    func validate() throws {
        if keepFrom.isEmpty == (status == nil) { throw ValidationError("Give either --keep-from V... or --status FILE") }
        if byTag != nil && status == nil { throw ValidationError("--by-tag needs --status FILE") }
    }

    func run() throws {
        try reportingErrors {
            let fleet = try status.map { try FleetStatus(json: try readInput($0), file: $0) }
            let targetsFile = try targets.map { try TargetsFile(json: try readInput($0), file: $0) }
            let keep = try PruneInputs.keptCommits(keepFrom: keepFrom, status: fleet, tag: byTag, targets: targetsFile)
            var stats = archive.map { [$0] } ?? []
            stats.append("\(repo)/delta-stats")
            try Pruner(repo: repo, keep: keep, statsDirectories: stats).run(dryRun: dryRun, output: { print($0) })
        }
    }
}
