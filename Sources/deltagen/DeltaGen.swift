import ArgumentParser
import Foundation

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

            Exit codes: 0 success; 1 an error (one `error:` line); 2 a usage error: an \
            unknown option, a missing or malformed value, or a number outside its option's \
            range (one `error:` line naming the option).
            """,
        version: "0.1.0",
        subcommands: [GenerateDelta.self, Show.self, Verify.self, PlanCommand.self, CIJob.self, MergeDeltas.self, Publish.self, Prune.self, BenchParts.self])

    /// Usage errors exit 2 with one line, as most Unix tools do, instead of the parser's 64
    /// and its usage block; help, --version and the commands' own exits are unchanged.
    static func main() {
        let arguments = joiningNegativeValues(Array(CommandLine.arguments.dropFirst()))
        do {
            var command = try parseAsRoot(arguments)
            try command.run()
        } catch {
            if exitCode(for: error) == .validationFailure {
                let text = message(for: error).split(separator: "\n").first.map(String.init) ?? "invalid usage"
                let line = text.hasPrefix("Error: ") ? String(text.dropFirst(7)) : text
                FileHandle.standardError.write(Data("error: \(line)\n".utf8))
                Foundation.exit(2)
            }
            exit(withError: error)
        }
    }
}
