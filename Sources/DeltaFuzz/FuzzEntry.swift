import DeltaFormat

/// One fuzz input, handed over by libFuzzer's driver (see FuzzMain). The input is a superblock file; its inline parts are decoded and
/// their ops replayed, so one input reaches every layer of the reader. Replay has no read
/// sources, so `r` ops fail cleanly, as they would against an empty repository.
func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    checkDelta(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}

/// Every path must end in a value or a thrown error; the fuzzer reports anything else.
func checkDelta(_ bytes: [UInt8]) {
    guard let decoded = try? Superblock.decode(file: bytes) else { return }
    let sb = decoded.superblock
    _ = try? DeltaReader.inspect(superblockFile: bytes) { index, _ in
        throw DeltaFormatError.malformed("part \(index) is not inline")
    }
    for (i, file) in sb.inlineParts.enumerated() where i < sb.parts.count {
        guard let body = try? PartFile.decode(file, maxPayload: DeltaReader.payloadLimit(for: sb.parts[i])),
              let payload = try? PartPayload(decoding: body) else { continue }
        try? PartReplay.run(payload, objects: sb.parts[i].objects, sources: { _ in nil }, written: { _ in })
    }
    _ = try? CommitObject(decoding: sb.commit)
}
