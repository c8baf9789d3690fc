import DeltaCompiler
import DeltaFormat
import Foundation
import XCTest

/// Size fields of 2^63 and 2^64−1 in a superblock: `show` and `verify` fail with an error,
/// never a trap, whichever field carries them (no file can be that big: sizes are off_t).
final class HugeFieldTests: XCTestCase {
    func testHugeSizeFieldsFailCleanly() throws {
        let t = try TestRepo.shared()
        let dir = try Harness.makeTemporaryDirectory()
        try Harness.check([Harness.deltagen, "generate-delta", "--repo", t.path, "-q", "--fallback-policy", "always",
                           "--filename", dir + "/superblock", t.v1, t.v2])
        let original = try Superblock.decode(file: Array(try Data(contentsOf: URL(fileURLWithPath: dir + "/superblock")))).superblock
        XCTAssertFalse(original.fallbacks.isEmpty)
        let edits: [(String, (inout Superblock, UInt64) -> Void)] = [
            ("part size", { $0.parts[0].size = $1 }),
            ("part usize", { $0.parts[0].uncompressedSize = $1 }),
            ("fallback size", { $0.fallbacks[0].compressedSize = $1 }),
            ("fallback usize", { $0.fallbacks[0].uncompressedSize = $1 }),
        ]
        for (field, edit) in edits {
            for value: UInt64 in [1 << 63, .max] {
                var crafted = original
                edit(&crafted, value)
                let path = "\(dir)/crafted-\(field.replacingOccurrences(of: " ", with: "-"))-\(value)"
                try Data(crafted.serialized()).write(to: URL(fileURLWithPath: path))
                // Parts are found beside the superblock, where the real part 0 lies.
                for command in ["show", "verify"] {
                    let r = try Harness.run([Harness.deltagen, command, "--repo", t.path, path])
                    // show refuses the malformed delta as bad input (2); verify reports it as a failed check (1).
                    XCTAssertEqual(r.status, command == "show" ? 2 : 1, "\(command), \(field) = \(value): exit \(r.status) \(r.stdout)\(r.stderr)")
                    if command == "show" {
                        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
                        XCTAssertTrue(r.stderr.contains("out of range"), r.stderr)
                    } else {
                        XCTAssertTrue(r.stdout.contains("FAIL superblock"), r.stdout)
                    }
                }
            }
        }
    }
}
