@testable import DeltaInsight
import XCTest

final class ObjectKindTests: XCTestCase {
    func testKernelImageByNameAndByBootMagic() {
        XCTAssertEqual(ObjectKind.classify(path: "/usr/lib/modules/6.1.0-9-amd64/vmlinuz", head: [0x4D, 0x5A]), .kernelImage)
        XCTAssertEqual(ObjectKind.classify(path: "/boot/vmlinuz-6.1.0-9-amd64", head: []), .kernelImage)
        XCTAssertEqual(ObjectKind.classify(path: "/boot/bzImage", head: []), .kernelImage)
        // An image under any name is recognised by the x86 boot header's "HdrS" at 0x202.
        var bzImage = [UInt8](repeating: 0, count: 0x300)
        bzImage.replaceSubrange(0x202..<0x206, with: Array("HdrS".utf8))
        XCTAssertEqual(ObjectKind.classify(path: "/boot/kernel", head: bzImage), .kernelImage)
    }

    func testKernelModulesByName() {
        let elf: [UInt8] = [0x7F, 0x45, 0x4C, 0x46, 2, 1, 1]
        let xz: [UInt8] = [0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00]
        XCTAssertEqual(ObjectKind.classify(path: "/usr/lib/modules/6.1/kernel/fs/ext4/ext4.ko", head: elf), .kernelModule)
        XCTAssertEqual(ObjectKind.classify(path: "/usr/lib/modules/6.1/kernel/fs/ext4/ext4.ko.xz", head: xz), .kernelModule)
        XCTAssertEqual(ObjectKind.classify(path: "/lib/modules/x/foo.ko.zst", head: [0x28, 0xB5, 0x2F, 0xFD]), .kernelModule)
        XCTAssertEqual(ObjectKind.classify(path: "/usr/share/doc/.ko", head: Array("hello\n".utf8)), .text)
        XCTAssertEqual(ObjectKind.classify(path: "/usr/bin/kodi", head: elf), .elf)
    }

    func testCompressedStreamsByMagicWhateverTheirName() {
        let magics: [(StreamFormat, [UInt8])] = [
            (.gzip, [0x1F, 0x8B, 8, 0]), (.xz, [0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00, 0]),
            (.zstd, [0x28, 0xB5, 0x2F, 0xFD, 0]), (.bzip2, Array("BZh91AY".utf8)),
        ]
        for (format, head) in magics {
            XCTAssertEqual(StreamFormat(magicOf: head), format)
            XCTAssertEqual(ObjectKind.classify(path: "/usr/share/doc/x/changelog.Debian", head: head), .compressedStream, "\(format)")
        }
        XCTAssertNil(StreamFormat(magicOf: [0x1F]))
    }

    func testTextAndOther() {
        XCTAssertEqual(ObjectKind.classify(path: "/etc/motd", head: Array("Grüße, world\n\tindented\r\n".utf8)), .text)
        // A UTF-8 character cut by the end of the sample is still text.
        let cut = Array("abc é".utf8).dropLast()
        XCTAssertEqual(ObjectKind.classify(path: "/etc/cut", head: Array(cut)), .text)
        XCTAssertEqual(ObjectKind.classify(path: "/data/blob", head: [0x00, 0x01, 0x02, 0xFF]), .other)
        XCTAssertEqual(ObjectKind.classify(path: "/data/latin1", head: [0x61, 0xE9, 0x61, 0x62]), .other)
        XCTAssertEqual(ObjectKind.classify(path: "/data/controls", head: Array(repeating: 0x01, count: 10) + Array("text".utf8)), .other)
        XCTAssertEqual(ObjectKind.classify(path: "/empty", head: []), .other)
        XCTAssertEqual(ObjectKind.classify(path: "/usr/lib/libfoo.so", head: Array("target".utf8), isSymlink: true), .other)
    }
}
