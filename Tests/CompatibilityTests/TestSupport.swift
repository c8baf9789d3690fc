import Foundation
@_exported import TestUtilities
import XCTest
import DeltaCompiler

/// Output of a finished command.
struct CommandResult {
    var status: Int32
    var stdout: String
    var stderr: String

    /// stderr without `generate-delta`'s progress lines (`deltagen: scanning` …), which a
    /// pipe receives as plain lines: what is left is the error, if any.
    var errorOutput: String {
        stderr.split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.hasPrefix("deltagen: ") }.joined(separator: "\n")
    }
}

/// Runs commands and builds scratch directories for the compatibility tests.
enum Harness {
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    /// The `deltagen` binary SwiftPM built next to the test bundle.
    static let deltagen: String = {
        let dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for candidate in [dir, dir.deletingLastPathComponent()] {
            let path = candidate.appendingPathComponent("deltagen").path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return packageRoot + "/.build/debug/deltagen"
    }()

    @discardableResult
    static func run(_ arguments: [String], cwd: String? = nil, environment: [String: String] = [:],
                    file: StaticString = #filePath, line: UInt = #line) throws -> CommandResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        if let cwd { process.currentDirectoryURL = URL(fileURLWithPath: cwd) }
        var env = ProcessInfo.processInfo.environment
        env.merge(environment) { $1 }
        process.environment = env
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // Read both pipes concurrently so neither fills up and blocks the child.
        let errReader = PipeReader(err.fileHandleForReading)
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return CommandResult(status: process.terminationStatus,
                             stdout: String(decoding: outData, as: UTF8.self),
                             stderr: String(decoding: errReader.wait(), as: UTF8.self))
    }

    /// Runs a command that must succeed, failing the test with its stderr otherwise.
    @discardableResult
    static func check(_ arguments: [String], cwd: String? = nil, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let r = try run(arguments, cwd: cwd)
        if r.status != 0 {
            XCTFail("\(arguments.joined(separator: " ")) exited \(r.status): \(r.stderr)", file: file, line: line)
            throw CommandFailure(command: arguments.joined(separator: " "), result: r)
        }
        return r.stdout
    }

    @discardableResult
    static func ostree(_ repo: String, _ args: String..., file: StaticString = #filePath, line: UInt = #line) throws -> String {
        try check(["ostree", "--repo=\(repo)"] + args, file: file, line: line)
    }

    static func makeTemporaryDirectory() throws -> String {
        var template = Array((NSTemporaryDirectory() + "/deltagen-test-XXXXXX").utf8CString)
        guard let p = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw CommandFailure(command: "mkdtemp", result: CommandResult(status: -1, stdout: "", stderr: ""))
        }
        return String(cString: p)
    }
}

struct CommandFailure: Error {
    var command: String
    var result: CommandResult
}

/// A test repository from `TestRepos/make-test-repo.sh`, built once per mode and process.
final class TestRepo {
    let path: String
    let v1: String, v2: String, v3: String

    nonisolated(unsafe) private static var cache: [String: TestRepo] = [:]  // guarded by `lock`
    private static let lock = NSLock()

    /// The shared repository for `mode`. Tests that change a repository copy it first.
    static func shared(mode: String = "archive") throws -> TestRepo {
        lock.lock()
        defer { lock.unlock() }
        if let repo = cache[mode] { return repo }
        let repo = try TestRepo(mode: mode)
        cache[mode] = repo
        return repo
    }

    private init(mode: String) throws {
        let dir = try Harness.makeTemporaryDirectory()
        path = dir + "/repo"
        let out = try Harness.check(["bash", Harness.packageRoot + "/TestRepos/make-test-repo.sh", "--mode", mode, path])
        var ids: [String: String] = [:]
        for line in out.split(separator: "\n") {
            let f = line.split(separator: " ")
            if f.count == 2 { ids[String(f[0])] = String(f[1]) }
        }
        v1 = ids["v1"] ?? ""
        v2 = ids["v2"] ?? ""
        v3 = ids["v3"] ?? ""
    }

    /// A private copy, for tests that add deltas or damage the repo.
    func copy() throws -> String {
        let dir = try Harness.makeTemporaryDirectory()
        try Harness.check(["cp", "-a", path, dir + "/repo"])
        return dir + "/repo"
    }
}

/// Stock-ostree checks shared by the compatibility tests.
enum Stock {
    /// Applies the delta at `deltaPath` with `ostree static-delta apply-offline` into a new
    /// bare-user repo that holds only `from` (or nothing), then checks fsck and that the
    /// result is exactly `to`: same listing with checksums and xattrs, same checkout.
    static func applyOffline(source: String, deltaPath: String, from: String?, to: String,
                             file: StaticString = #filePath, line: UInt = #line) throws {
        let dir = try Harness.makeTemporaryDirectory()
        let client = dir + "/client"
        try Harness.ostree(client, "init", "--mode=bare-user")
        if let from { try Harness.ostree(client, "pull-local", source, from) }
        try Harness.ostree(client, "static-delta", "apply-offline", deltaPath, file: file, line: line)
        try assertHolds(client: client, source: source, commit: to, workdir: dir, file: file, line: line)
        try? FileManager.default.removeItem(atPath: dir)
    }

    /// fsck passes, and `commit` in `client` equals `commit` in `source`.
    static func assertHolds(client: String, source: String, commit: String, workdir: String,
                            file: StaticString = #filePath, line: UInt = #line) throws {
        let fsck = try Harness.ostree(client, "fsck", file: file, line: line)
        XCTAssertTrue(fsck.contains("no errors found"), fsck, file: file, line: line)
        XCTAssertEqual(try Harness.ostree(client, "rev-parse", commit), commit + "\n", file: file, line: line)
        XCTAssertEqual(try Harness.ostree(client, "ls", "-RCX", commit), try Harness.ostree(source, "ls", "-RCX", commit),
                       "listing of \(commit) differs", file: file, line: line)
        try Harness.ostree(client, "checkout", "-U", "--disable-cache", commit, workdir + "/co-client")
        try Harness.ostree(source, "checkout", "-U", "--disable-cache", commit, workdir + "/co-source")
        let diff = try Harness.run(["diff", "-r", "--no-dereference", workdir + "/co-source", workdir + "/co-client"])
        XCTAssertEqual(diff.status, 0, "checkouts differ: \(diff.stdout)", file: file, line: line)
    }

    /// The last two lines of `ostree static-delta show`, which the Foundries CI job parses.
    static func showTotals(repo: String, delta: String) throws -> [String] {
        Array(try Harness.ostree(repo, "static-delta", "show", delta).split(separator: "\n").suffix(2).map(String.init))
    }
}

/// A server process on 127.0.0.1 that prints its port on its first line of output ("port N",
/// or http.server's "Serving HTTP on 127.0.0.1 port N"), stopped when this is released.
final class LoopbackProcess {
    let port: Int
    private let process = Process()

    init(_ arguments: [String], stderr: FileHandle = FileHandle.nullDevice) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = stderr
        process.standardInput = FileHandle.nullDevice
        try process.run()
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line.append(chunk)
        }
        let text = String(decoding: line, as: UTF8.self)
        guard let range = text.range(of: #"port (\d+)"#, options: .regularExpression),
              let port = Int(text[range].dropFirst(5)) else {
            process.terminate()
            throw CommandFailure(command: arguments.joined(separator: " "), result: CommandResult(status: -1, stdout: text, stderr: ""))
        }
        self.port = port
    }

    var url: String { "http://127.0.0.1:\(port)/" }

    deinit {
        process.terminate()
        process.waitUntilExit()
    }
}

/// Reads a pipe to its end on its own serial queue; `wait` returns what it read.
final class PipeReader: Sendable {
    private let data = Monitor(Data())
    private let done = DispatchSemaphore(value: 0)

    init(_ handle: FileHandle) {
        DispatchQueue(label: "deltagen-tests.pipe").async { [self] in
            let read = handle.readDataToEndOfFile()
            data.withLock { $0 = read }
            done.signal()
        }
    }

    func wait() -> Data {
        done.wait()
        return data.withLock { $0 }
    }
}
