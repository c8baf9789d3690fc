import ArgumentParser
import DeltaCompiler
import Foundation

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Prove a static delta correct without writing a repository.",
        discussion: """
            DELTA is FROMHEX-TOHEX, TOHEX, or a path to a superblock, as for `show`. The \
            repository must hold FROM (for a from->to delta) and any fallback objects.

            Checks, each reported on its own line:
              superblock        it parses as a (plain or signed) superblock
              embedded commit   the commit it carries hashes to TO
              from commit       FROM is in the repository
              part N            size and SHA-256 of the part file match the superblock
              part N ops        every op replayed in memory against FROM's objects gives \
            exactly the checksum the part lists, and the declared usize is the payload size \
            (deltagen) or the objects' total size (ostree)
              fallbacks         every fallback is a file object present in the repository
              completeness      every object reachable from TO is in FROM, in the delta, or \
            a fallback; stock clients never check this

            Exits 0 when every check passes and 1 otherwise. Works on deltas from ostree's \
            own generator too.
            """)

    @OptionGroup var repoOptions: RepoOptions

    @Argument(help: ArgumentHelp("The delta to verify.", valueName: "DELTA"))
    var delta: String

    @Flag(help: "Print the checks as one JSON object.")
    var json = false

    func run() throws {
        var failed = false
        try reportingErrors {
            let repo = try repoOptions.open()
            let checks = DeltaVerifier(repo: repo).verify(try locateDelta(delta, repo: { repo }))
            failed = checks.contains { !$0.passed }
            if json {
                try printJSON(VerifyJSON(ok: !failed, checks: checks))
            } else {
                for c in checks { print("\(c.passed ? "ok  " : "FAIL") \(c.name): \(c.detail)") }
                print(failed ? "Verification failed" : "Verification OK")
            }
        }
        if failed { throw ExitCode.failure }
    }
}

struct VerifyJSON: Encodable {
    var ok: Bool
    var checks: [VerifyCheck]
}
