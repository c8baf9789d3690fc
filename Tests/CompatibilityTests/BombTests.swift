import DeltaFormat
import Foundation
import XCTest

/// A 625 KB part that inflates to 4 GiB of zeros, declared as a 4 GiB payload. `show` and
/// `verify` refuse it with one line, in bounded memory: the payload is decoded in pieces
/// into an unlinked file where zeros are holes (docs/reliability.md states the bound).
final class BombTests: XCTestCase {
    /// What docs/reliability.md promises for any input with no big object to hold: the
    /// tables and ops (at most 32 MiB each), one 48 MiB in-memory payload, the decoder's
    /// 100 MiB limit, and the process itself. Measured: about 60 MB for this bomb.
    static let peakRSSBound = 256 << 20

    func testAFourGiBZeroBombStaysInBoundedMemory() throws {
        let small = try SmallRepo.shared()
        let dir = try Harness.makeTemporaryDirectory()
        // xz -0 over 4 GiB of zeros: about 625 KB, and half a minute of one core.
        try Harness.check(["bash", "-c", "head -c 4G /dev/zero | xz -0 -T1 -c > '\(dir)/payload.xz'"])
        let part = [PartCompression.xz.rawValue] + Array(try Data(contentsOf: URL(fileURLWithPath: dir + "/payload.xz")))
        try Data(part).write(to: URL(fileURLWithPath: dir + "/0"))
        let to = Checksum(hex: small.v2)!
        let commit = Array(try Data(contentsOf: URL(fileURLWithPath: "\(small.path)/objects/\(to.hex.prefix(2))/\(to.hex.dropFirst(2)).commit")))
        let superblock = Superblock(
            name: DeltaName(from: nil, to: to), timestamp: 0, commit: commit,
            parts: [PartHeader(checksum: SHA256Hasher.digest(part), size: UInt64(part.count),
                               uncompressedSize: 4 << 30, objects: [ObjectName(SHA256Hasher.digest([1]), .file)])],
            fallbacks: [])
        try Data(superblock.serialized()).write(to: URL(fileURLWithPath: dir + "/superblock"))

        for command in ["show", "verify"] {
            let r = try Harness.run(["/usr/bin/time", "-v", Harness.deltagen, command, "--repo", small.path, dir + "/superblock"])
            // show refuses the impossible size as bad input (2); verify reports it as a failed check (1).
            XCTAssertEqual(r.status, command == "show" ? 2 : 1, "\(command): \(r.stdout)\(r.stderr)")
            let peak = r.stderr.split(separator: "\n").first { $0.contains("Maximum resident set size") }
                .flatMap { Int($0.split(separator: ":").last!.trimmingCharacters(in: .whitespaces)) }
            XCTAssertNotNil(peak, r.stderr)
            XCTAssertLessThan((peak ?? .max) * 1024, BombTests.peakRSSBound, "\(command) peak RSS \(peak ?? 0) kB")
            print("\(command) on a 4 GiB zero bomb: peak RSS \(peak ?? 0) kB")
            if command == "show" {
                let errors = r.stderr.split(separator: "\n").filter { $0.hasPrefix("error: ") }
                XCTAssertEqual(errors.count, 1, r.stderr)
            } else {
                XCTAssertTrue(r.stdout.contains("FAIL part 0"), r.stdout)
            }
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: NSTemporaryDirectory())
            .filter { $0.hasPrefix("deltagen-payload-") }, [], "a spilled payload was left behind")
    }
}
