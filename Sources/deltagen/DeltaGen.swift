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

            Every error is one `error:` line on stderr. Exit codes, so CI can tell the cases \
            apart:

              0  success
              1  the delta work failed (a corrupt source object, a failed verify)
              2  usage or bad input (an option, rev, repository, deltas file, tarball)
              3  fetch or network (a refused connection, an HTTP error, a stall)
              4  no space or I/O (a full or read-only disk, a failed write)
            """,
        version: "0.1.0",
        subcommands: [GenerateDelta.self, Show.self, Explain.self, Verify.self, PlanCommand.self, CIJob.self,
                      MergeDeltas.self, Publish.self, Prune.self, BenchParts.self])

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
