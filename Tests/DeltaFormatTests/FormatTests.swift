import XCTest
@testable import DeltaFormat

final class FormatTests: XCTestCase {
    func testVarintEncodingAndLimits() throws {
        var out = [UInt8]()
        Varint.append(300, to: &out)
        XCTAssertEqual(out, [0xAC, 0x02])
        for value: UInt64 in [0, 1, 127, 128, 16383, 16384, 1 << 32, UInt64.max] {
            var bytes = [UInt8]()
            Varint.append(value, to: &bytes)
            var i = 0
            XCTAssertEqual(try Varint.read(bytes, at: &i), value)
            XCTAssertEqual(i, bytes.count)
        }
        var i = 0
        XCTAssertThrowsError(try Varint.read([0x80, 0x80], at: &i))
        i = 0
        XCTAssertThrowsError(try Varint.read([UInt8](repeating: 0xFF, count: 11), at: &i))
    }

    func testModifiedBase64AndDeltaPaths() throws {
        let from = try XCTUnwrap(ModifiedBase64.decode("olG2yu7aSmnPjmL3YiIell0vlASp2VWk8vyXP4b1FX4"))
        XCTAssertTrue(from.hex.hasPrefix("a251b6ca"))
        XCTAssertTrue(from.hex.hasSuffix("f5157e"))
        XCTAssertEqual(ModifiedBase64.encode(from), "olG2yu7aSmnPjmL3YiIell0vlASp2VWk8vyXP4b1FX4")
        let to = try XCTUnwrap(ModifiedBase64.decode("aPUE08c3jLakcYWPKmnUIILDhy_31b2EsM7uogTW5Yk"))
        let name = DeltaName(from: from, to: to)
        XCTAssertEqual(name.relativePath,
                       "deltas/ol/G2yu7aSmnPjmL3YiIell0vlASp2VWk8vyXP4b1FX4-aPUE08c3jLakcYWPKmnUIILDhy_31b2EsM7uogTW5Yk")
        XCTAssertEqual(DeltaName(from: nil, to: to).relativePath, "deltas/aP/UE08c3jLakcYWPKmnUIILDhy_31b2EsM7uogTW5Yk")
        XCTAssertEqual(DeltaName(name.description), name)
        XCTAssertEqual(DeltaName(deltasSubpath: String(name.relativePath.dropFirst("deltas/".count))), name)
        XCTAssertEqual(DeltaName(to.hex)?.from, nil)
        for bad in ["", "../etc", "\(to.hex)/x", "\(from.hex)-\(to.hex)-\(to.hex)", String(to.hex.dropLast())] {
            XCTAssertNil(DeltaName(bad), bad)
        }
    }

    func testChecksumHexRoundTrip() {
        let c = SHA256Hasher.digest(Array("abc".utf8))
        XCTAssertEqual(c.hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(Checksum(hex: c.hex.uppercased()), c)
        XCTAssertNil(Checksum(hex: "zz" + c.hex.dropFirst(2)))
        XCTAssertEqual(Checksum(bytes: c.bytes), c)
    }

    func testSuperblockRoundTrip() throws {
        let to = SHA256Hasher.digest([1]), from = SHA256Hasher.digest([2])
        let part = try PartFile.encode(PartPayload(modes: [FileMode(uid: 0, gid: 0, mode: 0o100644)],
                                                   xattrSets: [[]], blob: [1, 2, 3], ops: []).serialized())
        let commitmeta = GVariantValue.vardict([("ostree.sign.dummy", .string("x"))]).serialized()
        var sb = Superblock(name: DeltaName(from: from, to: to), timestamp: 12345, commit: sampleCommit(),
                            commitMetadata: commitmeta, inlineParts: [part],
                            parts: [PartHeader(checksum: SHA256Hasher.digest(part), size: UInt64(part.count),
                                               uncompressedSize: 99, objects: [ObjectName(to, .file), ObjectName(from, .dirMeta)])],
                            fallbacks: [FallbackEntry(object: ObjectName(from, .file), compressedSize: 7, uncompressedSize: 8)])
        let decoded = try Superblock.decode(file: sb.serialized())
        XCTAssertEqual(decoded.endianness, .little)
        XCTAssertFalse(decoded.signed)
        XCTAssertEqual(decoded.superblock.name, sb.name)
        XCTAssertEqual(decoded.superblock.timestamp, 12345)
        XCTAssertEqual(decoded.superblock.commit, sb.commit)
        XCTAssertEqual(decoded.superblock.commitMetadata, commitmeta)
        XCTAssertEqual(decoded.superblock.inlineParts, [part])
        XCTAssertEqual(decoded.superblock.parts, sb.parts)
        XCTAssertEqual(decoded.superblock.fallbacks, sb.fallbacks)
        XCTAssertEqual(decoded.metadataKeys, ["ostree.endianness", "\(sb.name.relativePath)/0", "\(sb.name.relativePath)/commitmeta"])

        sb.name = DeltaName(from: nil, to: to)
        sb.inlineParts = []
        let scratch = try Superblock.decode(file: sb.serialized())
        XCTAssertNil(scratch.superblock.name.from)
    }

    func testPartPayloadModeTableIsBigEndian() throws {
        let payload = PartPayload(modes: [FileMode(uid: 1, gid: 2, mode: 0o100755)], xattrSets: [[]],
                                  blob: Array("hello".utf8), ops: [0x53, 0, 0, 5, 0])
        let bytes = payload.serialized()
        XCTAssertEqual(Array(bytes[0..<12]), [0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0x81, 0xED])
        XCTAssertTrue(glibPrint(bytes, type: PartPayload.type).normal)
        let back = try PartPayload(decoding: bytes)
        XCTAssertEqual(back.modes, payload.modes)
        XCTAssertEqual(back.blob, payload.blob)
        XCTAssertEqual(back.ops, payload.ops)
        XCTAssertEqual(back.xattrSets, [[]])
    }

    func testPayloadSegmentsEqualTheSerializedPayload() throws {
        let xattrs = GVariantValue.array(element: .tuple([.bytes, .bytes]),
                                         [.tuple([.bytes(Array("user.a\0".utf8)), .bytes([1, 2])])]).serialized()
        for blobSize in [0, 5, 300, 70_000] {
            let payload = PartPayload(modes: [FileMode(uid: 0, gid: 0, mode: 0o100644), FileMode(uid: 1, gid: 1, mode: 0o100755)],
                                      xattrSets: [[], xattrs], blob: (0..<blobSize).map { UInt8(truncatingIfNeeded: $0) },
                                      ops: [0x53, 0, 0, 1, 0])
            XCTAssertEqual(payload.segments().flatMap { $0 }, payload.serialized(), "blob of \(blobSize) bytes")
            let (file, size) = try PartFile.encode(payload: payload, settings: XZ.Settings(preset: 0))
            XCTAssertEqual(size, payload.serialized().count)
            XCTAssertEqual(try PartFile.decode(file, maxPayload: size), payload.serialized())
        }
    }

    /// A part compressed while it fills: the head, the blob in pieces, then the tail, through
    /// one stream encoder, decodes to the serialized payload.
    func testStreamedPayloadEqualsTheSerializedPayload() throws {
        let modes = [FileMode(uid: 0, gid: 0, mode: 0o100644)]
        let blob = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let payload = PartPayload(modes: modes, xattrSets: [[]], blob: blob, ops: [0x53, 0, 0, 1, 0])
        let encoder = try XZ.StreamEncoder(settings: XZ.Settings(preset: 1))
        let head = PartPayload.head(modes: modes, xattrSets: [[]])
        try encoder.append(head)
        for start in stride(from: 0, to: blob.count, by: 30_000) {
            try encoder.append(Array(blob[start..<min(start + 30_000, blob.count)]))
        }
        for piece in PartPayload.tail(modeCount: 1, headSize: head.count, blobSize: blob.count, ops: payload.ops) {
            try encoder.append(piece)
        }
        XCTAssertEqual(encoder.inputSize, payload.serialized().count)
        XCTAssertEqual(try XZ.decompress(try encoder.finish(), maxOutput: 1 << 20), payload.serialized())
    }

    /// Parts use an 8 MiB dictionary: a client decodes them in about 9 MiB, where ostree's
    /// 32 MiB dictionary needs about 33 MiB.
    func testPartDictionarySetsTheDecoderMemory() throws {
        let input = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 % 251) }
        let ours = try XZ.compress(segments: [input])
        let ostrees = try XZ.compress(segments: [input], settings: .ostree)
        XCTAssertEqual(try XZ.decompress(ours, maxOutput: input.count, memoryLimit: 10 << 20), input)
        XCTAssertThrowsError(try XZ.decompress(ostrees, maxOutput: input.count, memoryLimit: 10 << 20))
        XCTAssertEqual(try XZ.decompress(ostrees, maxOutput: input.count, memoryLimit: 34 << 20), input)
    }

    func testInstructionsRoundTrip() throws {
        let objects = [ObjectName(SHA256Hasher.digest([1]), .dirTree), ObjectName(SHA256Hasher.digest([2]), .file),
                       ObjectName(SHA256Hasher.digest([3]), .file)]
        let program: [Instruction] = [
            .spliceMetadata(size: 10, offset: 0), .spliceContent(modeIndex: 0, xattrIndex: 0, size: 300, offset: 10),
            .setReadSource(offset: 310), .open(modeIndex: 0, xattrIndex: 0, size: 5), .bspatch(offset: 342, length: 40),
            .write(size: 1, offset: 2), .unsetReadSource, .close,
        ]
        var ops = [UInt8]()
        for i in program { i.append(to: &ops) }
        var decoder = InstructionDecoder(ops: ops, objects: objects)
        var back: [Instruction] = []
        while let i = try decoder.next() { back.append(i) }
        XCTAssertEqual(back, program)
        var bad = InstructionDecoder(ops: [0x99], objects: objects)
        XCTAssertThrowsError(try bad.next())
        var tooMany = InstructionDecoder(ops: [0x53, 0, 0], objects: [])
        XCTAssertThrowsError(try tooMany.next())
    }

    func testXZRoundTripCRC64AndLimits() throws {
        let input = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 7 / 13) }
        let compressed = try XZ.compress(input)
        // Stream header flags: check type 0x04 is CRC64.
        XCTAssertEqual(Array(compressed[0..<8]), [0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00, 0x00, 0x04])
        XCTAssertEqual(try XZ.decompress(compressed, maxOutput: input.count), input)
        XCTAssertThrowsError(try XZ.decompress(compressed, maxOutput: input.count - 1))
        XCTAssertThrowsError(try XZ.decompress(Array(compressed.dropLast(5)), maxOutput: 1 << 20))
        XCTAssertThrowsError(try XZ.decompress(compressed + [0], maxOutput: 1 << 20))
        XCTAssertThrowsError(try XZ.decompress([1, 2, 3], maxOutput: 1 << 20))

        // An xz bomb: 20 MB of zeros in a few kB fails at the cap instead of growing.
        let bomb = try XZ.compress([UInt8](repeating: 0, count: 20_000_000), preset: 1)
        XCTAssertLessThan(bomb.count, 10_000)
        XCTAssertThrowsError(try XZ.decompress(bomb, maxOutput: 1_000_000))
    }
}

/// A delta the format layer cannot read is the caller's input (exit 2).
final class FormatErrorKindTests: XCTestCase {
    func testMalformedInputIsBadInput() {
        for bytes: [UInt8] in [[], [1, 2, 3], Array(repeating: 0xFF, count: 64)] {
            XCTAssertThrowsError(try Superblock.decode(file: bytes)) { error in
                XCTAssertEqual((error as? ClassifiedError)?.failureKind, .badInput, "\(error)")
            }
        }
        XCTAssertThrowsError(try XZ.decompress([0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00, 1, 2, 3], maxOutput: 1 << 20)) { error in
            XCTAssertEqual((error as? ClassifiedError)?.failureKind, .badInput, "\(error)")
        }
    }
}
