@testable import DeltaInsight
import DeltaFormat
import Foundation
import XCTest

final class ReportTests: XCTestCase {
    private func cost(_ path: String, type: String = "file", _ kind: ObjectKind, _ encoding: Encoding, _ bytes: UInt64) -> ObjectCost {
        ObjectCost(checksum: String(repeating: "a", count: 64), type: type, path: path, otherPaths: 0, kind: kind,
                   encoding: encoding, part: encoding == .fallback ? nil : 0, oldSize: encoding == .bsdiff ? 10 : nil,
                   newSize: 20, bytes: bytes)
    }

    private func sampleReport() -> ExplainReport {
        let objects = [
            cost("/usr/lib/modules/6.1/vmlinuz", .kernelImage, .bsdiff, 500),
            cost("/usr/lib/modules/6.1/kernel/a.ko", .kernelModule, .bsdiff, 300),
            cost("/usr/share/doc/x/changelog.gz", .compressedStream, .literal, 150),
            cost("/usr/share/doc", type: "dirtree", .metadata, .literal, 30),
            cost("/big.img", .other, .fallback, 1000),
        ]
        return ExplainReport(
            from: String(repeating: "1", count: 64), to: String(repeating: "2", count: 64), method: Attribution.method,
            totalSize: 1980, totalPartSize: 980, totalFallbackSize: 1000, totalUncompressedSize: 5000, parts: 1,
            byKind: Bucket.group(objects) { $0.kind.rawValue }, byEncoding: Bucket.group(objects) { $0.encoding.rawValue },
            byDirectory: Bucket.group(objects, by: Bucket.directory(of:)), costliest: objects, objects: objects,
            advice: Advice(streams: [StreamAdvice(format: .gzip, changedFiles: 1, deltaBytes: 150, measuredFiles: 1,
                                                  measuredDeltaBytes: 150, uncompressedCost: 40, note: nil)],
                           kernelImages: [objects[0]]),
            elapsedSeconds: 0.25)
    }

    func testJSONRoundTrip() throws {
        let report = sampleReport()
        XCTAssertEqual(try ExplainReport.decode(try report.jsonData()), report)
        let dir = NSTemporaryDirectory() + "/explain-json-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try report.writeJSON(to: dir + "/r.json")
        let read = try ExplainReport.decode(try Data(contentsOf: URL(fileURLWithPath: dir + "/r.json")))
        XCTAssertEqual(read, report)
        // Names a program can rely on.
        let object = try JSONSerialization.jsonObject(with: try report.jsonData()) as! [String: Any]
        for key in ["totalSize", "byKind", "byEncoding", "byDirectory", "costliest", "objects", "advice", "method"] {
            XCTAssertNotNil(object[key], key)
        }
        XCTAssertEqual((object["byKind"] as! [[String: Any]]).first?["name"] as? String, "other")
    }

    func testBucketsAddUpAndDirectoriesAreTwoLevelsDeep() {
        let report = sampleReport()
        for buckets in [report.byKind, report.byEncoding, report.byDirectory] {
            XCTAssertEqual(buckets.reduce(0) { $0 + $1.bytes }, report.totalSize)
            XCTAssertEqual(buckets.reduce(0) { $0 + $1.byEncoding.values.reduce(0, +) }, report.totalSize)
        }
        XCTAssertEqual(report.byDirectory.map(\.name), ["/", "/usr/lib", "/usr/share"])
        XCTAssertEqual(report.byDirectory.first { $0.name == "/usr/lib" }?.bytes, 800)
        XCTAssertEqual(report.byEncoding.map(\.name), ["fallback", "bsdiff", "literal"])
    }

    func testTextAndChartCarryTheFigures() {
        let report = sampleReport()
        let text = report.textLines(name: "x-y").joined(separator: "\n")
        XCTAssertTrue(text.contains("Total Size: 1980 (\(DeltaReader.humanSize(1980)))"), text)
        XCTAssertTrue(text.contains("changed .gz files (gzip, 1): \(DeltaReader.humanSize(150)) of this delta; shipped uncompressed they would cost \(DeltaReader.humanSize(40)) (measured)"), text)
        XCTAssertTrue(text.contains("kernel image /usr/lib/modules/6.1/vmlinuz: \(DeltaReader.humanSize(500)) of this delta (bsdiff"), text)
        let svg = report.svg(title: "t")
        for label in ["kernel image", "fallback", "/usr/lib", "\(DeltaReader.humanSize(500)) (25.3%)", "Encoding:"] {
            XCTAssertTrue(svg.contains(label), label)
        }
    }

    func testGunzipReadsEveryMember() throws {
        let dir = NSTemporaryDirectory() + "/explain-gz-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let text = String(repeating: "gzip member text\n", count: 3000)
        for (i, part) in ["a", "b"].enumerated() {
            try (part + text).write(toFile: "\(dir)/\(i)", atomically: true, encoding: .utf8)
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            p.arguments = ["gzip", "-n", "\(dir)/\(i)"]
            try p.run()
            p.waitUntilExit()
        }
        let joined = try Data(contentsOf: URL(fileURLWithPath: "\(dir)/0.gz")) + Data(contentsOf: URL(fileURLWithPath: "\(dir)/1.gz"))
        XCTAssertEqual(try Decompression.gunzip(Array(joined)), Array(("a" + text + "b" + text).utf8))
        XCTAssertThrowsError(try Decompression.gunzip(Array(joined.prefix(30))))
        XCTAssertThrowsError(try Decompression.gunzip([0x1F, 0x8B, 0, 0]))
        XCTAssertNil(try Decompression.decompress([0x28, 0xB5, 0x2F, 0xFD], .zstd))
    }

    /// xz streams decompress; a small edit of the uncompressed text costs a small fraction
    /// of the compressed new version, which is what the advice measures.
    func testAdvisorDiffsTheUncompressedVersions() throws {
        var rng = SplitMix(seed: 5)
        let words = ["fix", "update", "security", "release", "upload", "urgency", "medium", "debian"]
        let old = Array((0..<30_000).map { _ in words.randomElement(using: &rng)! }.joined(separator: " ").utf8)
        let new = Array("new entry at the top\n".utf8) + old
        XCTAssertEqual(try Decompression.decompress(try XZ.compress(old), .xz), old)
        let part = try XZ.StreamEncoder(settings: .parts)
        var ops = [UInt8]()
        try StreamAdvisor.encode(old: old, new: new, source: Checksum(bytes: [UInt8](repeating: 1, count: 32))!,
                                 into: part, ops: &ops)
        try part.append(ops)
        let cost = try part.finish().count
        XCTAssertLessThan(cost * 20, try XZ.compress(new).count)
        XCTAssertFalse(ops.isEmpty)
    }
}
