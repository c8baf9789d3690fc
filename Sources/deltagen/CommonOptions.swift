import ArgumentParser
import DeltaCompiler
import DeltaFactory
import DeltaFormat
import Foundation
import OSTreeRepo

/// `--repo`, shared by every command that reads a repository.
struct RepoOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "Path to the OSTree repository.",
        discussion: "Defaults as in ostree: $OSTREE_REPO, then the system repository /ostree/repo.",
        valueName: "PATH"))
    var repo: String?

    func open() throws -> Repository { try RepositoryAccess.open(repo) }
}

/// Where DELTA points: `FROMHEX-TOHEX` or `TOHEX` in the repo's deltas/, or any argument with
/// a slash as a superblock path. Names are parsed strictly, so they can never carry a path.
func locateDelta(_ delta: String, repo: () throws -> Repository) throws -> DeltaLocation {
    if delta.contains("/") { return DeltaLocation(superblockPath: delta) }
    guard let name = DeltaName(delta) else {
        throw FactoryError("invalid delta name \(delta): expected FROMHEX-TOHEX, TOHEX, or a path to a superblock")
    }
    return DeltaLocation(repoPath: try repo().path, name: name)
}

/// Runs a command body, turning any error into one `error: …` line on stderr and the exit
/// code of its kind (`FailureKind`, DeltaGen's table); an error that does not say is 1.
func reportingErrors(_ body: () throws -> Void) throws {
    // Past a file-size limit (RLIMIT_FSIZE) the kernel would kill us with SIGXFSZ mid-write;
    // ignored, the write fails with EFBIG and the usual cleanup and error line follow.
    signal(SIGXFSZ, SIG_IGN)
    do {
        try body()
    } catch let exit as ExitCode {
        throw exit
    } catch {
        let message = String(describing: error).split(separator: "\n").joined(separator: " ")
        FileHandle.standardError.write(Data("error: \(message)\n".utf8))
        throw ExitCode((error as? ClassifiedError)?.failureKind.exitCode ?? FailureKind.deltaWork.exitCode)
    }
}

func printJSON<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}

func warn(_ message: String) {
    FileHandle.standardError.write(Data("warning: \(message)\n".utf8))
}
