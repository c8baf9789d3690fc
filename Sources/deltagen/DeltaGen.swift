import ArgumentParser

@main
struct DeltaGen: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deltagen",
        abstract: "Generate and inspect OSTree static deltas.",
        discussion: """
            deltagen writes static deltas that stock ostree clients apply (ostree pull, \
            ostree static-delta apply-offline, aktualizr-lite, rpm-ostree, flatpak). It reads \
            repositories through libostree and writes deltas into the repository's deltas/ \
            directory in the same layout as `ostree static-delta generate`.

            Sizes given in MB are decimal (1 MB = 1,000,000 bytes), as in ostree.
            """,
        version: "0.1.0",
        subcommands: [GenerateDelta.self, Show.self, Verify.self, PlanCommand.self, CIJob.self, MergeDeltas.self, BenchParts.self])
}
