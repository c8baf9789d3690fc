import DeltaCompiler
import DeltaFormat
import OSTreeRepo
import XCTest

/// Every kind of delta deltagen writes, applied by Debian's stock `ostree` CLI.
final class ApplyOfflineTests: XCTestCase {
    private func generate(_ repo: String, _ args: [String]) throws -> DeltaReport {
        let out = try Harness.check([Harness.deltagen, "generate-delta", "--repo", repo, "--json"] + args)
        let report = try JSONDecoder().decode(DeltaReport.self, from: Data(out.utf8))
        // Every delta the suite makes must also pass `deltagen verify` on its own.
        let verify = try Harness.run([Harness.deltagen, "verify", "--repo", repo, report.superblockPath])
        XCTAssertEqual(verify.status, 0, "verify failed for \(report.name): \(verify.stdout)")
        return report
    }

    private func deltaDirectory(_ repo: String, from: String?, to: String) -> String {
        let name = DeltaName(from: from.flatMap { Checksum(hex: $0) }, to: Checksum(hex: to)!)
        return repo + "/" + name.relativePath
    }

    /// Every object reachable from TO is in FROM, in a part, or a fallback: apply-offline never checks this.
    private func assertComplete(repo: String, from: String?, to: String, superblock: String,
                                file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try Repository(path: repo)
        let needed = try r.traverse(commit: Checksum(hex: to)!)
        let have = try from.map { try r.traverse(commit: Checksum(hex: $0)!) } ?? []
        let delta = try DeltaLocation(superblockPath: superblock).inspect().superblock
        let carried = Set(delta.parts.flatMap(\.objects) + delta.fallbacks.map(\.object))
        let missing = needed.subtracting(have).subtracting(carried).filter { $0.type != .commit }
        XCTAssertEqual(missing, [], "objects neither in FROM nor in the delta", file: file, line: line)
        XCTAssertTrue(carried.isSubset(of: needed), "the delta carries objects TO does not need", file: file, line: line)
    }

    func testFromToDeltaAppliesOfflineAndMatchesOstreeObjectSet() throws {
        let t = try TestRepo.shared()
        let repo = try t.copy()
        let report = try generate(repo, ["--min-fallback-size", "0", t.v1, t.v2])
        XCTAssertEqual(report.fallbacks, 0)
        XCTAssertEqual(report.parts, 1)
        // v1 -> v2 edits files in place and appends to others: both encoders must be exercised.
        XCTAssertGreaterThan(report.bsdiffObjects, 0)
        XCTAssertGreaterThan(report.rollsumObjects, 0)
        let dir = deltaDirectory(repo, from: t.v1, to: t.v2)
        try Stock.applyOffline(source: repo, deltaPath: dir, from: t.v1, to: t.v2)
        try assertComplete(repo: repo, from: t.v1, to: t.v2, superblock: dir + "/superblock")

        // Cross-check: ostree's own generator puts the same objects into parts and fallbacks.
        let ostreeDir = try Harness.makeTemporaryDirectory()
        try Harness.ostree(repo, "static-delta", "generate", "--from=\(t.v1)", "--to=\(t.v2)",
                           "--filename=\(ostreeDir)/superblock")
        let ours = try DeltaLocation(superblockPath: dir + "/superblock").inspect().superblock
        let theirs = try DeltaLocation(superblockPath: ostreeDir + "/superblock").inspect().superblock
        XCTAssertEqual(Set(ours.parts.flatMap(\.objects) + ours.fallbacks.map(\.object)),
                       Set(theirs.parts.flatMap(\.objects) + theirs.fallbacks.map(\.object)))

        // show's totals equal ostree's for the same delta, byte for byte.
        let ourShow = try Harness.check([Harness.deltagen, "show", "--repo", repo, "\(t.v1)-\(t.v2)"])
        XCTAssertEqual(Array(ourShow.split(separator: "\n").suffix(2).map(String.init)),
                       try Stock.showTotals(repo: repo, delta: "\(t.v1)-\(t.v2)"))
        XCTAssertTrue(ourShow.hasSuffix("Total Size: \(report.totalBytes) (\(DeltaReader.humanSize(report.totalBytes)))\nTotal Uncompressed Size: \(report.totalUncompressedBytes) (\(DeltaReader.humanSize(report.totalUncompressedBytes)))\n"))
    }

    /// ostree aborts on `o`/`B`/`w` ops in an archive repo; `--literal-only` is the documented way out.
    func testArchiveClientsNeedLiteralOnlyDeltas() throws {
        let t = try TestRepo.shared()
        let repo = try t.copy()
        let dir = deltaDirectory(repo, from: t.v1, to: t.v2)
        func applyToArchiveClient() throws -> CommandResult {
            let client = try Harness.makeTemporaryDirectory() + "/client"
            try Harness.ostree(client, "init", "--mode=archive")
            try Harness.ostree(client, "pull-local", repo, t.v1)
            let r = try Harness.run(["ostree", "--repo=\(client)", "static-delta", "apply-offline", dir])
            if r.status == 0 { try Harness.ostree(client, "fsck") }
            return r
        }
        let encoded = try generate(repo, ["--min-fallback-size", "0", t.v1, t.v2])
        XCTAssertGreaterThan(encoded.bsdiffObjects + encoded.rollsumObjects, 0)
        XCTAssertNotEqual(try applyToArchiveClient().status, 0, "stock ostree applied bsdiff/rollsum ops into an archive repo")

        let literal = try generate(repo, ["--literal-only", "--min-fallback-size", "0", t.v1, t.v2])
        XCTAssertEqual(literal.bsdiffObjects + literal.rollsumObjects, 0)
        let ops = try DeltaLocation(superblockPath: dir + "/superblock").inspect().parts.flatMap { $0.opCounts }
        XCTAssertEqual(ops.filter { $0.key != "openspliceclose" }.map(\.value).reduce(0, +), 0)
        XCTAssertEqual(try applyToArchiveClient().status, 0)
    }

    func testScratchDeltaCarriesDetachedMetadata() throws {
        let t = try TestRepo.shared()
        let repo = try t.copy()
        let report = try generate(repo, ["--empty", "--min-fallback-size", "0", t.v3])
        XCTAssertNil(report.from)
        let dir = deltaDirectory(repo, from: nil, to: t.v3)
        let sb = try DeltaLocation(superblockPath: dir + "/superblock").inspect().superblock
        XCTAssertNotNil(sb.commitMetadata, "v3 has detached metadata, so the superblock must carry it")
        try assertComplete(repo: repo, from: nil, to: t.v3, superblock: dir + "/superblock")

        let client = try Harness.makeTemporaryDirectory() + "/client"
        try Harness.ostree(client, "init", "--mode=bare-user")
        try Harness.ostree(client, "static-delta", "apply-offline", dir)
        try Stock.assertHolds(client: client, source: repo, commit: t.v3, workdir: try Harness.makeTemporaryDirectory())
        let key = try Harness.ostree(client, "show", "--print-detached-metadata-key=deltagen.test", t.v3)
        XCTAssertEqual(key, "'detached-v3'\n")
    }

    func testMultiPartDeltaAppliesOffline() throws {
        let t = try TestRepo.shared()
        let repo = try t.copy()
        let report = try generate(repo, ["--min-fallback-size", "0", "--max-chunk-size", "1", t.v1, t.v3])
        XCTAssertGreaterThanOrEqual(report.parts, 3)
        let dir = deltaDirectory(repo, from: t.v1, to: t.v3)
        for i in 0..<report.parts { XCTAssertTrue(FileManager.default.fileExists(atPath: "\(dir)/\(i)")) }
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(dir)/\(report.parts)"))
        try Stock.applyOffline(source: repo, deltaPath: dir, from: t.v1, to: t.v3)
        try assertComplete(repo: repo, from: t.v1, to: t.v3, superblock: dir + "/superblock")
        XCTAssertEqual(try Stock.showTotals(repo: repo, delta: "\(t.v1)-\(t.v3)").first,
                       "Total Size: \(report.totalBytes) (\(DeltaReader.humanSize(report.totalBytes)))")
        // Each part's declared usize is its real payload size.
        for part in try DeltaLocation(superblockPath: dir + "/superblock").inspect().parts {
            XCTAssertEqual(UInt64(part.payloadSize), part.uncompressedSize)
        }
    }

    /// `--xz-dict-size 32` (ostree's own xz settings) and `--xz-extreme` write parts that stock
    /// ostree applies too; the default's 8 MiB dictionary is covered by every other test.
    func testOstreeDictionaryAndExtremeModeApplyOffline() throws {
        let t = try TestRepo.shared()
        let repo = try t.copy()
        let dir = deltaDirectory(repo, from: t.v1, to: t.v2)
        for args in [["--xz-dict-size", "32"], ["--xz-extreme"]] {
            _ = try generate(repo, args + ["--min-fallback-size", "0", t.v1, t.v2])
            try Stock.applyOffline(source: repo, deltaPath: dir, from: t.v1, to: t.v2)
        }
        let r = try Harness.run([Harness.deltagen, "generate-delta", "--repo", repo, "--xz-dict-size", "65", t.v1, t.v2])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("--xz-dict-size must be a whole number from 1 to 64 MiB, not 65"), r.stderr)
    }

    func testInlineDeltaAndSelfContainedFile() throws {
        let t = try TestRepo.shared()
        let repo = try t.copy()
        let report = try generate(repo, ["--inline", "--min-fallback-size", "0", t.v2, t.v3])
        XCTAssertTrue(report.inline)
        let dir = deltaDirectory(repo, from: t.v2, to: t.v3)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["superblock"])
        try Stock.applyOffline(source: repo, deltaPath: dir, from: t.v2, to: t.v3)

        // --inline --filename: one self-contained file, applied by path.
        let out = try Harness.makeTemporaryDirectory()
        let single = out + "/v1-v2.delta"
        let before = try FileManager.default.contentsOfDirectory(atPath: repo + "/deltas").sorted()
        _ = try generate(repo, ["--inline", "--min-fallback-size", "0", "--filename", single, t.v1, t.v2])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out), ["v1-v2.delta"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: repo + "/deltas").sorted(), before)
        try Stock.applyOffline(source: repo, deltaPath: single, from: t.v1, to: t.v2)
    }

    func testFilenameWithPartsBesideIt() throws {
        let t = try TestRepo.shared()
        let out = try Harness.makeTemporaryDirectory()
        let report = try generate(t.path, ["--min-fallback-size", "0", "--max-chunk-size", "1",
                                           "--filename", out + "/super", "--empty", t.v1])
        let files = try FileManager.default.contentsOfDirectory(atPath: out).sorted()
        XCTAssertEqual(files, (["super"] + (0..<report.parts).map(String.init)).sorted())
        try Stock.applyOffline(source: t.path, deltaPath: out + "/super", from: nil, to: t.v1)
    }

    func testOutputIsByteIdenticalAcrossRunsJobsAndRepoModes() throws {
        let archive = try TestRepo.shared()
        let bareUser = try TestRepo.shared(mode: "bare-user")
        XCTAssertEqual(archive.v3, bareUser.v3)
        var outputs: [[String: Data]] = []
        for (repo, jobs) in [(archive.path, "1"), (archive.path, "4"), (bareUser.path, "2")] {
            let out = try Harness.makeTemporaryDirectory()
            _ = try generate(repo, ["--min-fallback-size", "0", "--max-chunk-size", "1", "--jobs", jobs,
                                    "--filename", out + "/superblock", archive.v1, archive.v3])
            var files: [String: Data] = [:]
            for f in try FileManager.default.contentsOfDirectory(atPath: out) {
                files[f] = try Data(contentsOf: URL(fileURLWithPath: out + "/" + f))
            }
            outputs.append(files)
        }
        XCTAssertGreaterThan(outputs[0].count, 2)
        XCTAssertEqual(outputs[0], outputs[1], "--jobs changed the output")
        XCTAssertEqual(outputs[0], outputs[2], "a bare-user source gave different bytes than an archive source")
    }

    func testReaderParsesOstreeGeneratedDeltas() throws {
        let t = try TestRepo.shared()
        let repo = try t.copy()
        try Harness.ostree(repo, "static-delta", "generate", "--from=\(t.v1)", "--to=\(t.v2)")
        try Harness.ostree(repo, "static-delta", "generate", "--empty", "--to=\(t.v3)")
        for delta in ["\(t.v1)-\(t.v2)", t.v3] {
            let ours = try Harness.check([Harness.deltagen, "show", "--repo", repo, delta])
            let theirs = try Harness.ostree(repo, "static-delta", "show", delta)
            // Same lines from "Endianness" on, except the op counts which ostree prints the same way too.
            let cut: (String) -> [String] = { $0.split(separator: "\n").map(String.init).filter { !$0.hasPrefix("Delta:") } }
            XCTAssertEqual(cut(ours), cut(theirs))
        }
    }

    func testIfNotExistsLeavesTheDeltaAlone() throws {
        let t = try TestRepo.shared()
        let repo = try t.copy()
        _ = try generate(repo, ["--min-fallback-size", "0", t.v1, t.v2])
        let sb = deltaDirectory(repo, from: t.v1, to: t.v2) + "/superblock"
        let before = try Data(contentsOf: URL(fileURLWithPath: sb))
        let r = try Harness.run([Harness.deltagen, "generate-delta", "--repo", repo, "-n", t.v1, t.v2])
        XCTAssertEqual(r.status, 0)
        XCTAssertEqual(r.stdout, "Delta \(t.v1)-\(t.v2) already exists.\n")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: sb)), before)

        // Without -n the delta is regenerated in place (here with fallbacks) and still applies.
        let again = try generate(repo, ["--fallback-policy", "always", t.v1, t.v2])
        XCTAssertEqual(again.fallbacks, 1)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: repo + "/tmp").filter { $0.hasPrefix("deltagen") }, [])
    }
}
