import Foundation
import XCTest

/// `TestRepos/hostile-http-server.py` on 127.0.0.1: the tarball directory plus redirects, an
/// endless body, a trickle and a stall, with every request's headers logged.
final class HostileHTTPServer {
    let logPath: String
    private let server: LoopbackProcess

    init(directory: String, redirectBase: String? = nil) throws {
        logPath = try Harness.makeTemporaryDirectory() + "/requests.jsonl"
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        server = try LoopbackProcess(["python3", "-u", Harness.packageRoot + "/TestRepos/hostile-http-server.py",
                                      "--directory", directory, "--log", logPath, "--lifetime", "300"]
                                     + (redirectBase.map { ["--redirect-base", $0] } ?? []))
    }

    var port: Int { server.port }
    var url: String { server.url }

    struct Request: Decodable {
        var method: String
        var path: String
        var headers: [String: String]
    }

    func requests() -> [Request] {
        let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { try? JSONDecoder().decode(Request.self, from: Data($0.utf8)) }
    }
}

/// ci-job's fetches from hostile or broken servers: credentials never follow a redirect to
/// another origin, downloads stop at a size limit and on a stall, and the scratch directory
/// is gone after any exit, including signals, or after the next run when killed with SIGKILL.
final class HostileFetchTests: XCTestCase {
    private let fakeCommit = String(repeating: "ab", count: 32)

    private func job(_ work: String, _ deltas: String, _ extra: [String] = []) throws -> CommandResult {
        try Fleet.write(deltas, to: work + "/d.json")
        return try Harness.run([Harness.deltagen, "ci-job", "--deltas", work + "/d.json", "--workdir", work + "/w"] + extra)
    }

    /// A failed fetch exits 3 (network); a tarball that is not there at all is bad input, 2.
    private func assertOneErrorLine(_ r: CommandResult, _ needle: String, status: Int32 = 3,
                                    file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(r.status, status, r.stderr, file: file, line: line)
        let errors = r.stderr.split(separator: "\n").filter { $0.hasPrefix("error: ") }
        XCTAssertEqual(errors.count, 1, r.stderr, file: file, line: line)
        XCTAssertTrue(errors.first?.contains(needle) == true, "expected \"\(needle)\" in: \(r.stderr)", file: file, line: line)
    }

    private func scratchLeft(_ work: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: work + "/w")) ?? []).filter { $0.hasPrefix(".deltagen-fetch-") }
    }

    func testHeadersStayWithTheirOriginAcrossRedirects() throws {
        let tarballs = try FleetTarballs.shared()
        let t = tarballs.repo
        let first = try HostileHTTPServer(directory: tarballs.dir)
        let second = try HostileHTTPServer(directory: tarballs.dir)
        let work = try Harness.makeTemporaryDirectory()
        let token = "token-\(UUID().uuidString)"
        // v3 is redirected to the other server; v2 is redirected within the first one.
        let deltas = Fleet.deltasFile(to: (t.v3, "\(first.url)redirect?to=\(second.url)v3.tar"),
                                      froms: [(t.v2, "\(first.url)redirect?to=/v2.tar")])
        let r = try job(work, deltas, ["--http-header", "OSF-TOKEN=\(token)"])
        XCTAssertEqual(r.status, 0, r.stderr)

        let atSecond = second.requests()
        XCTAssertEqual(Set(atSecond.map(\.method)), ["HEAD", "GET"], "the second server saw HEAD and GET")
        XCTAssertTrue(atSecond.allSatisfy { $0.path == "/v3.tar" })
        for request in atSecond {
            XCTAssertNil(request.headers["osf-token"], "\(request.method) \(request.path) on another origin got the header")
            XCTAssertFalse(request.headers.values.contains { $0.contains(token) })
        }
        // The configured origin gets it, on the redirect and on a redirect that stays there.
        let atFirst = first.requests()
        XCTAssertTrue(atFirst.filter { $0.path.hasPrefix("/redirect") }.allSatisfy { $0.headers["osf-token"] == token })
        let sameOrigin = atFirst.filter { $0.path == "/v2.tar" }
        XCTAssertEqual(Set(sameOrigin.map(\.method)), ["HEAD", "GET"])
        XCTAssertTrue(sameOrigin.allSatisfy { $0.headers["osf-token"] == token })

        // Six redirects are one too many; file:, ftp: and other schemes are never followed.
        var chain = "\(second.url)v3.tar"
        for _ in 0..<6 { chain = "\(first.url)redirect?to=\(chain)" }
        for (url, needle) in [(chain, "more than 5 redirects"),
                              ("\(first.url)redirect?to=file:///etc/passwd", "only http and https are followed"),
                              ("\(first.url)redirect?to=ftp://127.0.0.1/x.tar", "only http and https are followed")] {
            let refused = try job(work, Fleet.deltasFile(to: (fakeCommit, url), froms: []))
            assertOneErrorLine(refused, needle)
        }
        XCTAssertEqual(scratchLeft(work), [])
    }

    /// libostree's own pull would send the header on across a redirect; the pull from
    /// --remote-url goes through OriginProxy, which keeps it at the remote's origin.
    func testRemotePullKeepsHeadersAtItsOrigin() throws {
        let tarballs = try FleetTarballs.shared()
        let t = tarballs.repo
        let moved = try HostileHTTPServer(directory: t.path)
        let remote = try HostileHTTPServer(directory: try Harness.makeTemporaryDirectory(), redirectBase: "http://127.0.0.1:\(moved.port)")
        let work = try Harness.makeTemporaryDirectory()
        let token = "token-\(UUID().uuidString)"
        let r = try job(work, Fleet.deltasFile(to: (t.v3, tarballs.fileURL("v3")), froms: [(t.v1, nil)]),
                        ["--remote-url", remote.url + "r", "--http-header", "OSF-TOKEN=\(token)"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("\(t.v1)-\(t.v3)"), r.stdout)
        let atRemote = remote.requests()
        XCTAssertFalse(atRemote.isEmpty)
        XCTAssertTrue(atRemote.allSatisfy { $0.headers["osf-token"] == token }, "the remote's own origin gets the header")
        let atMoved = moved.requests()
        XCTAssertTrue(atMoved.contains { $0.path.hasSuffix(".commit") }, "the pull went through the redirect")
        for request in atMoved {
            XCTAssertNil(request.headers["osf-token"], "\(request.method) \(request.path) on another origin got the header")
        }
        XCTAssertFalse(r.stderr.contains("127.0.0.1:\(moved.port)") && r.stderr.contains("error"), r.stderr)
    }

    func testEndlessBodyStopsAtTheLimitAndAStallIsAbandoned() throws {
        let server = try HostileHTTPServer(directory: try Harness.makeTemporaryDirectory())
        let work = try Harness.makeTemporaryDirectory()
        let start = Date()
        let endless = try job(work, Fleet.deltasFile(to: (fakeCommit, server.url + "endless"), froms: []),
                              ["--max-download-size", "20"])
        assertOneErrorLine(endless, "stopped at the limit of 20000000 bytes (--max-download-size)")
        XCTAssertLessThan(Date().timeIntervalSince(start), 30)
        XCTAssertEqual(scratchLeft(work), [])

        // A GET that announces more than the limit is refused before any byte is written.
        let announced = try job(work, Fleet.deltasFile(to: (fakeCommit, server.url + "trickle"), froms: []),
                                ["--max-download-size", "1"])
        assertOneErrorLine(announced, "the server announces 100000000 bytes, more than the limit")

        let stall = try job(work, Fleet.deltasFile(to: (fakeCommit, server.url + "stall"), froms: []),
                            ["--download-stall-timeout", "1"])
        assertOneErrorLine(stall, "no data for 1 seconds (--download-stall-timeout)")
        XCTAssertEqual(scratchLeft(work), [])
    }

    /// Starts a ci-job on the trickling URL and waits until its download has begun.
    private func startTrickle(_ work: String, _ server: HostileHTTPServer, ignoring: [String] = []) throws -> Process {
        try Fleet.write(Fleet.deltasFile(to: (fakeCommit, server.url + "trickle"), froms: []), to: work + "/t.json")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Harness.deltagen)
        process.arguments = ["ci-job", "--deltas", work + "/t.json", "--workdir", work + "/w"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            for dir in scratchLeft(work) where !ignoring.contains(dir) {
                let size = (try? FileManager.default.attributesOfItem(atPath: "\(work)/w/\(dir)/download-0")[.size] as? Int) ?? 0
                if size > 0 { return process }
            }
            usleep(50_000)
        }
        process.terminate()
        XCTFail("the download did not start")
        return process
    }

    func testSignalsMidDownloadLeaveNoScratch() throws {
        let server = try HostileHTTPServer(directory: try Harness.makeTemporaryDirectory())
        for sig in [SIGTERM, SIGINT] {
            let work = try Harness.makeTemporaryDirectory()
            let process = try startTrickle(work, server)
            XCTAssertEqual(scratchLeft(work).count, 1)
            kill(process.processIdentifier, sig)
            process.waitUntilExit()
            XCTAssertEqual(process.terminationReason, .uncaughtSignal, "signal \(sig)")
            XCTAssertEqual(process.terminationStatus, sig)
            XCTAssertEqual(scratchLeft(work), [], "signal \(sig) left the scratch directory")
        }
    }

    func testRerunRemovesWhatAKilledRunLeft() throws {
        let server = try HostileHTTPServer(directory: try Harness.makeTemporaryDirectory())
        let work = try Harness.makeTemporaryDirectory()
        let killed = try startTrickle(work, server)
        kill(killed.processIdentifier, SIGKILL)
        killed.waitUntilExit()
        let left = scratchLeft(work)
        XCTAssertEqual(left.count, 1, "SIGKILL cannot clean up")

        let quickFailure = Fleet.deltasFile(to: (fakeCommit, "file:///nonexistent/v.tar"), froms: [])
        let rerun = try job(work, quickFailure)
        assertOneErrorLine(rerun, "cannot be fetched", status: 2)
        XCTAssertTrue(rerun.stderr.contains("removed 1 download scratch directories left by killed runs"), rerun.stderr)
        XCTAssertEqual(scratchLeft(work), [])

        // A live run holds the lock on its scratch, so another run in the workdir leaves it.
        let live = try startTrickle(work, server)
        let liveScratch = scratchLeft(work)
        XCTAssertEqual(liveScratch.count, 1)
        assertOneErrorLine(try job(work, quickFailure), "cannot be fetched", status: 2)
        XCTAssertEqual(scratchLeft(work), liveScratch, "the live run's scratch was removed")
        live.terminate()
        live.waitUntilExit()
        XCTAssertEqual(scratchLeft(work), [])
    }
}
