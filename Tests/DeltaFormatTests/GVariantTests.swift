import CGLib
import XCTest
@testable import DeltaFormat

/// Checks our serializer against GLib: the bytes must be in GLib's normal form and print as expected.
func glibPrint(_ bytes: [UInt8], type: GVariantType) -> (normal: Bool, text: String) {
    let vtype = g_variant_type_new(type.typeString)
    defer { g_variant_type_free(vtype) }
    let variant = bytes.withUnsafeBytes { raw in
        g_variant_ref_sink(g_variant_new_from_data(vtype, raw.baseAddress, gsize(raw.count), 0, nil, nil))
    }
    defer { g_variant_unref(variant) }
    let normal = g_variant_is_normal_form(variant) != 0
    let printed = g_variant_print(variant, 0)!
    defer { g_free(printed) }
    return (normal, String(cString: printed))
}

final class GVariantTests: XCTestCase {
    func testEmptyPartPayloadIsThreeOffsetBytes() {
        XCTAssertEqual(PartPayload().serialized(), [0, 0, 0])
    }

    func testUnitTupleAndFixedTuple() {
        XCTAssertEqual(GVariantValue.tuple([]).serialized(), [0])
        let t = GVariantValue.tuple([.uint32(1), .uint32(2), .uint32(3)]).serialized()
        XCTAssertEqual(t.count, 12)
    }

    func testVardictMatchesGLib() {
        let value = GVariantValue.vardict([
            ("ostree.endianness", .byte(0x6C)),
            ("n", .uint64(42)),
            ("s", .string("héllo")),
            ("a", .bytes([1, 2, 3])),
        ])
        let bytes = value.serialized()
        let (normal, text) = glibPrint(bytes, type: .vardict)
        XCTAssertTrue(normal)
        XCTAssertEqual(text, "{'ostree.endianness': <byte 0x6c>, 'n': <uint64 42>, 's': <'héllo'>, 'a': <[byte 0x01, 0x02, 0x03]>}")
    }

    func testLargeArrayUsesWideOffsetsInNormalForm() {
        // 300 strings push the container past 255 bytes, so offsets become 2 bytes wide.
        let items = (0..<300).map { GVariantValue.string("item\($0)") }
        let bytes = GVariantValue.array(element: .string, items).serialized()
        let (normal, text) = glibPrint(bytes, type: .array(.string))
        XCTAssertTrue(normal)
        XCTAssertTrue(text.hasPrefix("['item0', 'item1'"))
        let view = GVariantView(bytes, type: .array(.string))
        XCTAssertEqual(try view.elements().map { try $0.string() }, (0..<300).map { "item\($0)" })
    }

    func testSuperblockIsNormalFormAndMatchesTheWorkedExample() throws {
        let from = try XCTUnwrap(ModifiedBase64.decode("olG2yu7aSmnPjmL3YiIell0vlASp2VWk8vyXP4b1FX4"))
        let to = try XCTUnwrap(ModifiedBase64.decode("aPUE08c3jLakcYWPKmnUIILDhy_31b2EsM7uogTW5Yk"))
        let commit = sampleCommit()
        let sb = Superblock(name: DeltaName(from: from, to: to), timestamp: 1_795_775_988, commit: commit,
                            parts: [PartHeader(checksum: to, size: 1309, uncompressedSize: 562_606,
                                               objects: [ObjectName(from, .dirTree)])],
                            fallbacks: [])
        let bytes = sb.serialized()
        // Format doc §2: the first 0x28 bytes of a real superblock.
        let expected: [UInt8] = Array("ostree.endianness".utf8) + [0, 0, 0, 0, 0, 0, 0, 0x6C, 0x00, 0x79, 0x12, 0x1C,
                                                                   0, 0, 0, 0, 0, 0, 0, 0x6B, 0x09, 0x5D, 0xF4]
        XCTAssertEqual(Array(bytes[0..<0x28]), expected)
        XCTAssertEqual(Array(bytes[0x28..<0x2C]), [0xA2, 0x51, 0xB6, 0xCA])
        XCTAssertTrue(glibPrint(bytes, type: Superblock.type).normal)
    }

    func testReaderRejectsBadFraming() {
        // A dict entry whose key offset points past the end.
        let bad: [UInt8] = [0x61, 0x00, 0x7F]
        XCTAssertThrowsError(try GVariantView(bad, type: .dictEntry(.string, .variant)).members())
        XCTAssertThrowsError(try GVariantView([1, 2, 3], type: .uint32).uint32())
        XCTAssertThrowsError(try GVariantView([0x61], type: .string).string())
        XCTAssertThrowsError(try GVariantView([1, 2, 3, 4, 5], type: .array(.tuple([.uint32, .uint32, .uint32]))).elements())
    }

    func testTypeStringsRoundTrip() {
        for s in ["(a{sv}tayay(a{sv}aya(say)sstayay)aya(uayttay)a(yaytt))", "(a(uuu)aa(ayay)ayay)", "(taya{sv})", "v", "ab"] {
            XCTAssertEqual(GVariantType(typeString: s)?.typeString, s)
        }
        XCTAssertNil(GVariantType(typeString: "(u"))
        XCTAssertNil(GVariantType(typeString: "q"))
    }
}

/// A syntactically valid commit object `(a{sv}aya(say)sstayay)` for format tests.
func sampleCommit(subject: String = "v2", timestamp: UInt64 = 1_700_000_000) -> [UInt8] {
    let tree = SHA256Hasher.digest(Array("tree".utf8)), meta = SHA256Hasher.digest(Array("meta".utf8))
    return GVariantValue.tuple([
        .vardict([("version", .string("2.0"))]), .bytes([]),
        .array(element: .tuple([.string, .bytes]), []),
        .string(subject), .string(""), .uint64(timestamp.byteSwapped), .bytes(tree.bytes), .bytes(meta.bytes),
    ]).serialized()
}
