import Foundation
import XCTest
@testable import DeltaPlanning

/// Every reader of an input file (targets, status, CI deltas file, delta-stats) turns every
/// malformed shape into an InputError that names the file, and never traps.
final class MalformedInputTests: XCTestCase {
    enum Reader: String, CaseIterable {
        case targets, status, deltas, stats

        func read(_ data: Data) throws {
            switch self {
            case .targets: _ = try TargetsFile(json: data, file: "in.json")
            case .status: _ = try FleetStatus(json: data, file: "in.json")
            case .deltas: _ = try DeltasFile.parse(data, file: "in.json")
            case .stats: _ = try DeltaStats(json: data, file: "in.json")
            }
        }
    }

    private let hex = String(repeating: "ab", count: 32)

    private func assertRefused(_ reader: Reader, _ data: Data, _ expected: String = "", _ label: String,
                               file: StaticString = #filePath, line: UInt = #line) {
        do {
            try reader.read(data)
            XCTFail("\(reader) accepted \(label)", file: file, line: line)
        } catch let e as InputError {
            XCTAssertTrue(e.description.hasPrefix("in.json: "), "\(reader), \(label): \(e)", file: file, line: line)
            XCTAssertTrue(expected.isEmpty || e.description.contains(expected), "\(reader), \(label): expected \"\(expected)\" in \(e)",
                          file: file, line: line)
            XCTAssertFalse(e.description.contains("\n"), "\(reader), \(label): not one line", file: file, line: line)
        } catch {
            XCTFail("\(reader), \(label): not an InputError: \(error)", file: file, line: line)
        }
    }

    func testShapesNoReaderAccepts() {
        let garbage = Data((0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 13) })
        let shapes: [(String, Data)] = [
            ("empty file", Data()),
            ("whitespace", Data(" \n\t ".utf8)),
            ("null", Data("null".utf8)),
            ("true", Data("true".utf8)),
            ("a number", Data("42".utf8)),
            ("a huge number", Data("1e999".utf8)),
            ("a string", Data("\"targets\"".utf8)),
            ("NaN", Data("NaN".utf8)),
            ("unclosed", Data("{\"targets\": {".utf8)),
            ("trailing comma", Data("[1,]".utf8)),
            ("missing value", Data("{\"a\":}".utf8)),
            ("two documents", Data("{} {}".utf8)),
            ("comment", Data("// hi\n{}".utf8)),
            ("binary garbage", garbage),
            ("NUL bytes", Data(count: 64)),
            ("non-UTF-8", Data([0x7B, 0x22, 0xFF, 0xFE, 0x22, 0x3A, 0x31, 0x7D])),
            ("lone surrogate", Data("{\"\\ud800\": 1}".utf8)),
            ("deep arrays", Data(String(repeating: "[", count: 200_000).utf8)),
            ("deep objects", Data(String(repeating: "{\"a\":", count: 100_000).utf8)),
            ("deep closed arrays", Data((String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)).utf8)),
        ]
        for reader in Reader.allCases {
            for (label, data) in shapes { assertRefused(reader, data, "", label) }
        }
    }

    func testWrongShapesAreNamedByPath() {
        func target(_ custom: String, hashes: String = "{\"sha256\": \"\(String(repeating: "ab", count: 32))\"}") -> Data {
            Data("{\"signed\": {\"targets\": {\"t-1\": {\"hashes\": \(hashes), \"custom\": \(custom)}}}}".utf8)
        }
        let ok = "\"version\": \"1\", \"hardwareIds\": [\"hw\"]"
        let cases: [(Reader, String, Data, String)] = [
            (.targets, "list of targets", Data("{\"targets\": []}".utf8), "targets: expected an object"),
            (.targets, "no custom", Data("{\"targets\": {\"t\": {}}}".utf8), "missing \"custom\""),
            (.targets, "custom list", target("[]"), "custom: expected an object"),
            (.targets, "no hashes", Data("{\"targets\": {\"t\": {\"custom\": {}}}}".utf8), "missing \"hashes\""),
            (.targets, "sha256 number", target("{\(ok)}", hashes: "{\"sha256\": 5}"), "sha256: expected a string"),
            (.targets, "sha256 short", target("{\(ok)}", hashes: "{\"sha256\": \"abc\"}"), "not a 64-hex"),
            (.targets, "sha256 upper", target("{\(ok)}", hashes: "{\"sha256\": \"\(hex.uppercased())\"}"), "not a 64-hex"),
            (.targets, "version null", target("{\"version\": null, \"hardwareIds\": [\"hw\"]}"), "version: expected an integer"),
            (.targets, "version fraction", target("{\"version\": 1.5, \"hardwareIds\": [\"hw\"]}"), "version: expected an integer"),
            (.targets, "version huge", target("{\"version\": 1e300, \"hardwareIds\": [\"hw\"]}"), "version: expected an integer"),
            (.targets, "version bool", target("{\"version\": true, \"hardwareIds\": [\"hw\"]}"), "version: expected an integer"),
            (.targets, "no hardwareIds", target("{\"version\": \"1\"}"), "missing \"hardwareIds\""),
            (.targets, "hardwareIds empty", target("{\"version\": \"1\", \"hardwareIds\": []}"), "hardwareIds: is empty"),
            (.targets, "hardwareIds string", target("{\"version\": \"1\", \"hardwareIds\": \"hw\"}"), "expected a list"),
            (.targets, "hardwareId number", target("{\"version\": \"1\", \"hardwareIds\": [1]}"), "hardwareIds[0]: expected a string"),
            (.targets, "tags string", target("{\(ok), \"tags\": \"a\"}"), "tags: expected a list"),
            (.targets, "tag null", target("{\(ok), \"tags\": [null]}"), "tags[0]: expected a string"),
            (.targets, "uri number", target("{\(ok), \"uri\": 5}"), "uri: expected a string"),
            (.targets, "format number", target("{\(ok), \"targetFormat\": 5}"), "targetFormat: expected a string"),
            (.status, "top-level list", Data("[]".utf8), "expected an object"),
            (.status, "tags object", Data("{\"tags\": {}}".utf8), "tags: expected a list"),
            (.status, "tag number", Data("{\"tags\": [1]}".utf8), "tags[0]: expected an object"),
            (.status, "tag without name", Data("{\"tags\": [{\"targets\": []}]}".utf8), "missing \"name\""),
            (.status, "name number", Data("{\"tags\": [{\"name\": 5}]}".utf8), "name: expected a string"),
            (.status, "targets object", Data("{\"tags\": [{\"name\": \"a\", \"targets\": {}}]}".utf8), "targets: expected a list"),
            (.status, "version string", Data("{\"tags\": [{\"name\": \"a\", \"targets\": [{\"version\": \"7\"}]}]}".utf8), "version: expected an integer"),
            (.status, "version 2^63", Data("{\"tags\": [{\"name\": \"a\", \"targets\": [{\"version\": 9223372036854775808}]}]}".utf8), "expected an integer"),
            (.status, "devices fraction", Data("{\"tags\": [{\"name\": \"a\", \"targets\": [{\"version\": 1, \"devices\": 1.5}]}]}".utf8), "devices: expected an integer"),
            (.status, "orphan string", Data("{\"tags\": [{\"name\": \"a\", \"targets\": [{\"version\": 1, \"is-orphan\": \"yes\"}]}]}".utf8), "is-orphan: expected true or false"),
            (.status, "orphan number", Data("{\"tags\": [{\"name\": \"a\", \"targets\": [{\"version\": 1, \"is-orphan\": 1}]}]}".utf8), "is-orphan: expected true or false"),
            (.status, "prod-tags string", Data("{\"prod-tags\": \"x\"}".utf8), "prod-tags: expected a list"),
            (.deltas, "empty list", Data("[]".utf8), "lists no deltas"),
            (.deltas, "object", Data("{}".utf8), "expected a list"),
            (.deltas, "entry number", Data("[1]".utf8), "[0]: expected an object"),
            (.deltas, "entry empty", Data("[{}]".utf8), "needs both \"to\" and \"froms\""),
            (.deltas, "extra key", Data("[{\"to\": [\"\(hex)\", \"\"], \"froms\": [], \"x\": 1}]".utf8), "unexpected key \"x\""),
            (.deltas, "to string", Data("[{\"to\": \"\(hex)\", \"froms\": []}]".utf8), "to: expected a list"),
            (.deltas, "to one element", Data("[{\"to\": [\"\(hex)\"], \"froms\": []}]".utf8), "expected [commit, url]"),
            (.deltas, "to three elements", Data("[{\"to\": [\"\(hex)\", \"\", \"\"], \"froms\": []}]".utf8), "expected [commit, url]"),
            (.deltas, "commit number", Data("[{\"to\": [5, \"\"], \"froms\": []}]".utf8), "to[0]: expected a string"),
            (.deltas, "commit not hex", Data("[{\"to\": [\"../../etc\", \"\"], \"froms\": []}]".utf8), "not a 64-hex"),
            (.deltas, "url number", Data("[{\"to\": [\"\(hex)\", 5], \"froms\": []}]".utf8), "to[1]: expected a string"),
            (.deltas, "froms object", Data("[{\"to\": [\"\(hex)\", \"\"], \"froms\": {}}]".utf8), "froms: expected a list"),
            (.deltas, "from null", Data("[{\"to\": [\"\(hex)\", \"\"], \"froms\": [null]}]".utf8), "froms[0]: expected a list"),
            (.stats, "top-level list", Data("[]".utf8), "expected an object"),
            (.stats, "froms list", Data("{\"\(hex)\": []}".utf8), "expected an object"),
            (.stats, "key not hex", Data("{\"../x\": {}}".utf8), "key is not a commit checksum"),
            (.stats, "key upper", Data("{\"\(hex.uppercased())\": {}}".utf8), "key is not a commit checksum"),
            (.stats, "missing u_size", Data("{\"\(hex)\": {\"\(hex)\": {\"size\": 1}}}".utf8), "expected exactly"),
            (.stats, "extra key", Data("{\"\(hex)\": {\"\(hex)\": {\"size\": 1, \"u_size\": 1, \"x\": 1}}}".utf8), "expected exactly"),
            (.stats, "negative size", Data("{\"\(hex)\": {\"\(hex)\": {\"size\": -1, \"u_size\": 1}}}".utf8), "size: expected a non-negative integer"),
            (.stats, "fraction size", Data("{\"\(hex)\": {\"\(hex)\": {\"size\": 1.5, \"u_size\": 1}}}".utf8), "size: expected a non-negative integer"),
            (.stats, "string size", Data("{\"\(hex)\": {\"\(hex)\": {\"size\": \"1\", \"u_size\": 1}}}".utf8), "size: expected a non-negative integer"),
            (.stats, "bool size", Data("{\"\(hex)\": {\"\(hex)\": {\"size\": true, \"u_size\": 1}}}".utf8), "size: expected a non-negative integer"),
            (.stats, "2^64 size", Data("{\"\(hex)\": {\"\(hex)\": {\"size\": 18446744073709551616, \"u_size\": 1}}}".utf8), "size: expected a non-negative integer"),
            (.stats, "1e30 size", Data("{\"\(hex)\": {\"\(hex)\": {\"size\": 1e30, \"u_size\": 1}}}".utf8), "size: expected a non-negative integer"),
        ]
        for (reader, label, data, expected) in cases { assertRefused(reader, data, expected, label) }
    }
}
