import DeltaFormat

/// One fuzz input, handed over by libFuzzer's driver (see FuzzMain). The input is a
/// superblock file; its inline parts are decoded, inspected as `show` does, and their ops
/// replayed as `verify` does, so one input reaches every layer of the reader. Replay has
/// no read sources, so `r` ops fail cleanly, as they would against an empty repository.
func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    checkDelta(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}

/// Payloads the fuzzer decodes in memory stop here; the tools spill bigger ones to disk.
private let fuzzPayloadLimit: UInt64 = 64 << 20

private func decodeInline(_ file: [UInt8], _ header: PartHeader) throws -> [UInt8] {
    let decoder = PartFile.Decoder(maxPayload: min(DeltaReader.payloadLimit(for: header), fuzzPayloadLimit))
    var out: [UInt8] = []
    try decoder.feed(file) { out.append(contentsOf: $0) }
    try decoder.finish { out.append(contentsOf: $0) }
    return out
}

/// Every path must end in a value or a thrown error; the fuzzer reports anything else.
func checkDelta(_ bytes: [UInt8]) {
    guard let decoded = try? Superblock.decode(file: bytes) else { return }
    let sb = decoded.superblock
    _ = try? DeltaReader.inspect(superblockFile: bytes) { index, header, inlineFile in
        guard let inlineFile else { throw DeltaFormatError.malformed("part \(index) is not inline") }
        return try decodeInline(inlineFile, header)
    }
    for (i, file) in sb.inlineParts.enumerated() where i < sb.parts.count {
        guard let body = try? decodeInline(file, sb.parts[i]), let payload = try? PartPayloadIndex(body) else { continue }
        try? PartReplay.run(payload, objects: sb.parts[i].objects, sources: { _ in nil }, written: { _ in })
    }
    _ = try? CommitObject(decoding: sb.commit)
}
