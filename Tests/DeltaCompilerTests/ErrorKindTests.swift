import CGLib
import DeltaFormat
import Foundation
import XCTest
@testable import DeltaCompiler
@testable import OSTreeRepo

/// Each layer's errors say what kind of failure they are, which the CLI turns into its exit
/// code: 1 the delta work, 2 bad input, 4 storage.
final class ErrorKindTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("deltagen-kinds-\(UUID())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// A repository with one commit of two files, made by the stock ostree CLI.
    private func repoWithCommit() throws -> (Repository, Checksum) {
        let repo = try Repository.create(path: directory + "/repo", mode: .archive)
        let tree = directory + "/tree"
        try FileManager.default.createDirectory(atPath: tree + "/etc", withIntermediateDirectories: true)
        try Data("hello\n".utf8).write(to: URL(fileURLWithPath: tree + "/etc/a"))
        try Data((0..<5000).map { UInt8($0 % 251) }).write(to: URL(fileURLWithPath: tree + "/b"))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["ostree", "--repo=\(repo.path)", "commit", "--branch=main", "--tree=dir=\(tree)",
                             "--owner-uid=0", "--owner-gid=0", "--no-xattrs"]
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
        return (repo, try repo.resolve("main"))
    }

    private func kind(of body: () throws -> Void, file: StaticString = #filePath, line: UInt = #line) -> FailureKind? {
        do {
            try body()
            XCTFail("no error", file: file, line: line)
            return nil
        } catch let error as ClassifiedError {
            return error.failureKind
        } catch {
            XCTFail("\(type(of: error)) is not classified: \(error)", file: file, line: line)
            return nil
        }
    }

    func testGErrorsAreClassifiedByTheirQuarkAndCode() {
        let io = g_io_error_quark()
        func code(_ e: GIOErrorEnum) -> Int32 { Int32(e.rawValue) }
        XCTAssertEqual(RepositoryError.kind(domain: io, code: code(G_IO_ERROR_NOT_FOUND), failed: .io), .notFound)
        XCTAssertEqual(RepositoryError.kind(domain: io, code: code(G_IO_ERROR_NO_SPACE), failed: .io), .noSpace)
        XCTAssertEqual(RepositoryError.kind(domain: io, code: code(G_IO_ERROR_INVALID_DATA), failed: .io), .corruptObject)
        XCTAssertEqual(RepositoryError.kind(domain: io, code: code(G_IO_ERROR_PERMISSION_DENIED), failed: .corruptObject), .io)
        // A plain failure means what the call says it means.
        XCTAssertEqual(RepositoryError.kind(domain: io, code: code(G_IO_ERROR_FAILED), failed: .badRevision), .badRevision)
        XCTAssertEqual(RepositoryError.kind(domain: g_file_error_quark(), code: Int32(G_FILE_ERROR_NOSPC.rawValue),
                                            failed: .io), .noSpace)
        // The same code in another domain is not "not found": the quark decides, not the number.
        let other = g_quark_from_string("some-other-error-quark")
        XCTAssertEqual(RepositoryError.kind(domain: other, code: code(G_IO_ERROR_NOT_FOUND), failed: .io), .io)

        let expected: [RepositoryError.Kind: FailureKind] = [
            .notFound: .badInput, .badRevision: .badInput, .corruptObject: .deltaWork, .noSpace: .storage, .io: .storage,
        ]
        for kind in RepositoryError.Kind.allCases {
            XCTAssertEqual(RepositoryError(kind, "x").failureKind, expected[kind], "\(kind)")
        }
        XCTAssertTrue(RepositoryError(.notFound, "x").isNotFound)
        XCTAssertFalse(RepositoryError(.io, "x").isNotFound)
    }

    func testRepositoryCallsThrowClassifiedErrors() throws {
        let (repo, _) = try repoWithCommit()
        XCTAssertEqual(kind { _ = try repo.resolve("no-such-ref") }, .badInput)
        XCTAssertEqual(kind { _ = try repo.resolve("not a ref!") }, .badInput)
        let missing = ObjectName(Checksum(hex: String(repeating: "ab", count: 32))!, .commit)
        do {
            _ = try repo.loadMetadata(missing)
            XCTFail("a missing commit loaded")
        } catch let e as RepositoryError {
            XCTAssertTrue(e.isNotFound, "\(e)")
            XCTAssertEqual(e.failureKind, .badInput)
        }
        XCTAssertEqual(kind { _ = try Repository(path: directory + "/no-repo-here") }, .badInput)
    }

    func testGeneratorErrorsSayWhoIsAtFault() throws {
        let (repo, commit) = try repoWithCommit()
        var options = DeltaOptions()
        options.jobs = 1
        let generator = DeltaGenerator(repo: repo, options: options)
        // FROM = TO, and a rev that is not a commit, are the caller's input.
        XCTAssertEqual(kind { _ = try generator.generate(DeltaName(from: commit, to: commit)) }, .badInput)
        let root = try CommitObject(decoding: try repo.loadMetadata(ObjectName(commit, .commit))).rootTree
        XCTAssertEqual(kind { _ = try generator.generate(DeltaName(from: nil, to: root)) }, .badInput)
        XCTAssertEqual(kind { _ = try generator.generate(DeltaName(from: nil, to: Checksum(hex: String(repeating: "cd", count: 32))!)) },
                       .badInput)

        // A corrupt source object fails the delta work, and nothing of the lower layers leaks.
        let file = try XCTUnwrap(try CommitWalker.walk(repo, commit: commit).content.first)
        let path = "\(repo.path)/objects/\(file.hex.prefix(2))/\(file.hex.dropFirst(2)).filez"
        var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: path)))
        for i in stride(from: bytes.count / 2, to: bytes.count, by: 3) { bytes[i] ^= 0x5A }
        try FileManager.default.removeItem(atPath: path)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        do {
            _ = try generator.generate(DeltaName(from: nil, to: commit))
            XCTFail("a corrupt source made a delta")
        } catch let e as GenerateError {
            XCTAssertEqual(e.failureKind, .deltaWork, "\(e)")
        } catch let e as WalkError {
            XCTAssertEqual(e.failureKind, .deltaWork, "\(e)")
        }
    }

    func testWrappedErrorsKeepTheirKind() {
        XCTAssertEqual(GenerateError.verificationFailed(VerifyCheck(name: "part 0", passed: false, detail: "x")).failureKind,
                       .deltaWork)
        XCTAssertEqual(GenerateError.memoryLimit(limit: 1, needed: 2).failureKind, .badInput)
        func wrapped(_ error: Error) -> FailureKind? {
            guard let e = GenerateError.wrapping(error) as? GenerateError else { return nil }
            return e.failureKind
        }
        XCTAssertEqual(wrapped(RepositoryError(.noSpace, "No space left on device")), .storage)
        XCTAssertEqual(wrapped(RepositoryError(.corruptObject, "bad zlib")), .deltaWork)
        XCTAssertEqual(wrapped(DeltaFormatError.compression("xz: out of memory")), .deltaWork)
        XCTAssertEqual(wrapped(NSError(domain: NSPOSIXErrorDomain, code: Int(EIO))), .storage)
        XCTAssertTrue(GenerateError.wrapping(GenerateError.sameCommit(Checksum(hex: String(repeating: "ab", count: 32))!))
                      is GenerateError)
        // The message is the lower layer's own.
        XCTAssertEqual("\(GenerateError.wrapping(RepositoryError(.noSpace, "No space left on device")))", "No space left on device")
    }
}
