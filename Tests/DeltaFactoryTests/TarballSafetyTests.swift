import DeltaFormat
import Foundation
import TestUtilities
import XCTest
@testable import DeltaFactory

/// SafeExtractor and the fetcher's URL rules, called as a library: no CLI, no network.
final class TarballSafetyTests: XCTestCase {
    private func tempDir() throws -> String {
        let path = NSTemporaryDirectory() + "factory-tests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    /// `tar` run in `dir` with `args`; the tarball's path.
    private func tar(_ dir: String, _ args: [String]) throws -> String {
        let out = dir + "/t.tar"
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/tar")
        p.arguments = ["-C", dir + "/src", "-cf", out] + args
        try p.run()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0)
        return out
    }

    private func assertRefused(_ archive: String, into target: String, contains text: String,
                               file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try SafeExtractor.extract(archive, into: target), file: file, line: line) { error in
            guard let e = error as? FactoryError else { return XCTFail("\(error)", file: file, line: line) }
            XCTAssertEqual(e.failureKind, .badInput, file: file, line: line)
            XCTAssertTrue(e.description.contains(text), e.description, file: file, line: line)
        }
    }

    func testSymlinkOutOfTheTreeIsRefused() throws {
        let dir = try tempDir()
        try FileManager.default.createDirectory(atPath: dir + "/src/repo", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: dir + "/src/repo/config", withDestinationPath: "../../../etc/passwd")
        assertRefused(try tar(dir, ["repo"]), into: dir + "/out", contains: "outside the tarball")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/out/repo/config"), "the link was written")
    }

    func testFIFOIsRefused() throws {
        let dir = try tempDir()
        try FileManager.default.createDirectory(atPath: dir + "/src", withIntermediateDirectories: true)
        XCTAssertEqual(mkfifo(dir + "/src/pipe", 0o644), 0)
        assertRefused(try tar(dir, ["pipe"]), into: dir + "/out", contains: "FIFO")
    }

    func testNotATarballIsBadInput() throws {
        let dir = try tempDir()
        try Data("this is not a tarball".utf8).write(to: URL(fileURLWithPath: dir + "/x.tar"))
        assertRefused(dir + "/x.tar", into: dir + "/out", contains: "not a readable tarball")
    }

    func testPlainTreeExtracts() throws {
        let dir = try tempDir()
        try FileManager.default.createDirectory(atPath: dir + "/src/repo/objects", withIntermediateDirectories: true)
        try Data("[core]\n".utf8).write(to: URL(fileURLWithPath: dir + "/src/repo/config"))
        try SafeExtractor.extract(try tar(dir, ["repo"]), into: dir + "/out")
        XCTAssertEqual(try TarballFetcher.locateRepository(in: dir + "/out", url: "file:///t.tar"), dir + "/out/repo")
    }

    func testURLRules() {
        for good in ["http://h/x.tar", "https://h:8443/x.tgz", "file:///abs/x.tar"] {
            XCTAssertNoThrow(try TarballFetcher.validate(good), good)
        }
        for bad in ["ftp://h/x", "file://host/x", "file:rel", "http:///x", "nonsense"] {
            XCTAssertThrowsError(try TarballFetcher.validate(bad), bad) { error in
                XCTAssertEqual((error as? FactoryError)?.failureKind, .badInput, bad)
            }
        }
        XCTAssertEqual(TarballFetcher.defaultLimit(announced: nil), TarballFetcher.unknownSizeLimit)
        XCTAssertEqual(TarballFetcher.defaultLimit(announced: 1_000_000), 65_000_000)
        XCTAssertEqual(TarballFetcher.defaultLimit(announced: .max), TarballFetcher.unknownSizeLimit)
    }

    /// A refused connection is a network failure, so ci-job exits 3 for it.
    func testRefusedConnectionIsNetwork() throws {
        let port = refusedLoopbackPort()
        let fetcher = TarballFetcher(headers: [], parallel: 2, directory: try tempDir(), stallTimeout: 10)
        XCTAssertThrowsError(try fetcher.check(["http://127.0.0.1:\(port)/a.tar"])) { error in
            XCTAssertEqual((error as? FactoryError)?.failureKind, .network, "\(error)")
            XCTAssertTrue("\(error)".contains("connection refused"), "\(error)")
        }
    }
}
