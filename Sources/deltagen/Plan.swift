import ArgumentParser
import DeltaFactory
import DeltaPlanning
import Foundation

struct PlanCommand: ParsableCommand {
    enum Format: String, ExpressibleByArgument, CaseIterable {
        case text, json, deltas, matrix
    }

    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Plan the static deltas a Target version needs, as `fioctl targets static-deltas` does.",
        discussion: """
            TO_VERSION is the CI build number devices should reach; each FROM_VERSION is one they \
            run now. With --by-tag TAG, the from-versions also come from the factory status \
            file: every version that devices on TAG run, in the CI `tags` list and then the \
            `prod-tags` list, that is below TO_VERSION and not an orphan (no longer in the \
            tag's Targets). This is fioctl's selection, and its errors are kept: a \
            from-version not below TO_VERSION, a tag in neither list, and an empty result.

            With --dry-run the output is fioctl's dry-run text. Unlike fioctl, each version \
            appears once, newest first; --fioctl-order keeps fioctl's order and duplicates. \
            With --hw-id and --targets, from-versions that have no Target for that hardware ID \
            are dropped with a warning, instead of being sent to the server, and a TO_VERSION \
            with no Target for that hardware ID is an error. A Target whose version is not a \
            number ("custom") is never a from or a to, although fioctl reads its version as -1.

            Without --dry-run, versions are resolved to OSTree commits (the Targets' \
            hashes.sha256) for each hardware ID that has TO_VERSION, or only --hw-id. Froms \
            that share a commit are planned once. --format selects the output:

              text    one block per hardware ID: the to commit, then "FROM -> TO  COMMIT"
              json    the plan with versions, names, commits, URLs and warnings
              deltas  the deltas file that `deltagen ci-job` reads
              matrix  a GitHub Actions matrix, one entry per (from, to) pair, on one line;
                      past 256 pairs (GitHub's limit), 256 entries that each name a run of
                      pairs in "only", as "FROM-TO FROM-TO ..." for ci-job --only

            URLs come from --tarball-url, a template with {version}, {hw_id}, {commit}, {name} \
            and {uri} (the Target's custom.uri). When the template uses {uri} and a Target has \
            none (made by `fioctl targets add`), its URL is empty and `deltagen ci-job` pulls \
            that commit from --remote-url. Without --tarball-url every URL is empty.

            The status file is the answer to GET \
            https://api.foundries.io/ota/factories/<factory>/status/?offline-threshold=4, and \
            targets.json to GET \
            https://api.foundries.io/ota/repo/<factory>/api/v1/user_repo/targets.json, both \
            with the OSF-TOKEN header.
            """)

    @Argument(help: ArgumentHelp("The version devices should reach.", valueName: "TO_VERSION"))
    var toVersion: String

    @Argument(help: ArgumentHelp("Versions devices run now.", valueName: "FROM_VERSION"))
    var fromVersions: [String] = []

    @Option(help: ArgumentHelp("The factory's TUF targets.json.", valueName: "FILE"))
    var targets: String?

    @Option(help: ArgumentHelp("The factory status JSON, read with --by-tag.", valueName: "FILE"))
    var status: String?

    @Option(help: ArgumentHelp("Add the versions devices on TAG run (needs --status).", valueName: "TAG"))
    var byTag: String?

    @Option(help: ArgumentHelp("Only plan for Targets with this hardware ID.", valueName: "H"))
    var hwId: String?

    @Flag(help: "Print what would be generated, in fioctl's words, and stop.")
    var dryRun = false

    @Flag(help: "With --dry-run, keep fioctl's order and duplicate versions.")
    var fioctlOrder = false

    @Option(help: ArgumentHelp("Output without --dry-run: text, json, deltas or matrix.", valueName: "FORMAT"))
    var format: Format = .text

    @Option(help: ArgumentHelp("Tarball URL template for the deltas file and matrix.", valueName: "TEMPLATE"))
    var tarballUrl: String?

    func run() throws {
        try reportingErrors {
            let to = try Planner.version(toVersion)
            let explicit = try fromVersions.map(Planner.version)
            if byTag != nil && status == nil {
                throw FactoryError("--by-tag needs --status FILE, the factory status JSON")
            }
            if status != nil && byTag == nil { throw FactoryError("--status is only read with --by-tag") }
            let fleet = try status.map { try FleetStatus(json: try readInput($0), file: $0) }
            let targetsFile = try targets.map { try TargetsFile(json: try readInput($0), file: $0) }
            let template = try tarballUrl.map(URLTemplate.init)

            var froms = try Planner.fioctlVersions(to: to, explicit: explicit, tag: byTag, status: fleet)
            if !fioctlOrder { froms = Planner.dedupedNewestFirst(froms) }
            if let hwId, let targetsFile {
                let (kept, warnings) = try Planner.filter(to: to, froms: froms, hardwareID: hwId, targets: targetsFile)
                warnings.forEach(warn)
                guard !kept.isEmpty else { throw PlanError.nothingToDo }
                froms = kept
            }
            if dryRun {
                print(Planner.dryRunText(to: to, froms: froms, hardwareID: hwId), terminator: "")
                return
            }
            guard let targetsFile else {
                throw FactoryError("--targets FILE is needed to resolve versions to commits (or use --dry-run)")
            }
            let plan = try Planner.draft(to: to, froms: froms, targets: targetsFile, hardwareID: hwId,
                                         tarballURL: template)
            plan.warnings.forEach(warn)
            try plan.requireDeltas()
            switch format {
            case .text: print(plan.text(), terminator: "")
            case .json: print(try compactJSON(plan, pretty: true))
            case .deltas: print(try DeltasFile.encode(plan.deltasFile()))
            case .matrix: print(try compactJSON(plan.matrix()))
            }
        }
    }
}
