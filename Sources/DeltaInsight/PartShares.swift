import DeltaFormat

/// How an object reaches the client.
public enum Encoding: String, Codable, CaseIterable, Sendable {
    case literal, bsdiff, rollsum, fallback
}

/// One object's share of a part's payload: the blob bytes and the ops that build it.
public struct ObjectShare {
    public var object: ObjectName
    public var encoding: Encoding
    /// The object's content size (a metadata object's length).
    public var newSize: UInt64
    /// The FROM object a bsdiff or rollsum object is built from.
    public var source: Checksum?
    /// Payload ranges of the blob bytes this object's ops read.
    public var blobRanges: [Range<Int>] = []
    /// This object's ops, re-encoded (the encoding is canonical, so these are its bytes).
    public var ops: [UInt8] = []

    /// Up to `limit` payload bytes of the blob just before this object's first blob bytes:
    /// what a part's compressor has seen when it reaches them.
    public func context(in payload: PartPayloadIndex, limit: Int) throws -> [UInt8] {
        guard let first = blobRanges.map(\.lowerBound).min() else { return [] }
        let start = max(payload.blob.lowerBound, first - limit)
        return start < first ? try payload.bytes.read(start..<first) : []
    }

    /// The bytes of the share, as they sit in the payload.
    public func bytes(in payload: RandomAccessBytes) throws -> [UInt8] {
        var out = [UInt8]()
        for r in blobRanges { out.append(contentsOf: try payload.read(r)) }
        return out + ops
    }

    /// At most `limit` bytes of the share: all of it when it fits, else eight evenly spaced
    /// slices; and the factor that scales a measurement of them up to the whole share. So
    /// explain's memory follows the limit, not the biggest file a delta carries.
    public func sample(in payload: RandomAccessBytes, limit: Int) throws -> (bytes: [UInt8], scale: Double) {
        let blobLength = blobRanges.reduce(0) { $0 + $1.count }
        let total = blobLength + ops.count
        guard total > limit, limit >= 8 else { return (try bytes(in: payload), 1) }
        let slice = limit / 8
        var out = [UInt8]()
        out.reserveCapacity(limit)
        for k in 0..<8 {
            var offset = (total - slice) * k / 7
            var wanted = slice
            // Walk the logical stream, the blob ranges then the ops, from `offset`.
            for r in blobRanges where wanted > 0 {
                if offset >= r.count { offset -= r.count; continue }
                let take = min(wanted, r.count - offset)
                out += try payload.read((r.lowerBound + offset)..<(r.lowerBound + offset + take))
                wanted -= take
                offset = 0
            }
            if wanted > 0 {
                let start = min(ops.count, offset)
                out += ops[start..<min(ops.count, start + wanted)]
            }
        }
        return (out, Double(total) / Double(out.count))
    }
}

public enum PartShares {
    /// Splits a part's ops by object, in the part's object order. Ops between objects
    /// (a read source set before `open`, unset after `close`) belong to the next object
    /// opened, or, at the end of the ops, to the last one.
    public static func split(_ payload: PartPayloadIndex, objects: [ObjectName]) throws -> [ObjectShare] {
        var decoder = InstructionDecoder(ops: payload.ops, objects: objects)
        var shares: [ObjectShare] = []
        var pendingOps: [UInt8] = []
        var pendingRanges: [Range<Int>] = []
        var source: Checksum?
        var open: ObjectShare?

        func start(_ share: inout ObjectShare) {
            share.ops = pendingOps + share.ops
            share.blobRanges = pendingRanges + share.blobRanges
            pendingOps = []
            pendingRanges = []
        }
        func nextObject() throws -> ObjectName {
            guard shares.count + (open == nil ? 0 : 1) < objects.count else {
                throw DeltaFormatError.malformed("ops write more objects than the part lists")
            }
            return objects[shares.count]
        }

        while let instruction = try decoder.next() {
            var encoded = [UInt8]()
            instruction.append(to: &encoded)
            switch instruction {
            case .spliceMetadata(let size, let offset):
                var share = ObjectShare(object: try nextObject(), encoding: .literal, newSize: size)
                share.ops = encoded
                share.blobRanges = [try payload.blobRange(offset: offset, size: size)]
                start(&share)
                shares.append(share)
            case .spliceContent(_, _, let size, let offset):
                var share = ObjectShare(object: try nextObject(), encoding: .literal, newSize: size)
                share.ops = encoded
                share.blobRanges = [try payload.blobRange(offset: offset, size: size)]
                start(&share)
                shares.append(share)
            case .open(_, _, let size):
                guard open == nil else { throw DeltaFormatError.malformed("an object is opened while another is open") }
                var share = ObjectShare(object: try nextObject(), encoding: .literal, newSize: size, source: source)
                share.ops = encoded
                start(&share)
                open = share
            case .write(let size, let offset):
                guard open != nil else { throw DeltaFormatError.malformed("write with no open object") }
                open!.ops += encoded
                if let source {
                    open!.source = source
                    if open!.encoding == .literal { open!.encoding = .rollsum }
                } else {
                    open!.blobRanges.append(try payload.blobRange(offset: offset, size: size))
                }
            case .setReadSource(let offset):
                let range = try payload.blobRange(offset: offset, size: 32)
                source = Checksum(bytes: try payload.bytes.read(range))
                if open != nil {
                    open!.ops += encoded
                    open!.blobRanges.append(range)
                } else {
                    pendingOps += encoded
                    pendingRanges.append(range)
                }
            case .unsetReadSource:
                source = nil
                if open != nil { open!.ops += encoded } else { attachTrailing(encoded, to: &shares, pending: &pendingOps) }
            case .bspatch(let offset, let length):
                guard open != nil, let source else { throw DeltaFormatError.malformed("bspatch needs an open object and a read source") }
                open!.ops += encoded
                open!.blobRanges.append(try payload.blobRange(offset: offset, size: length))
                open!.encoding = .bsdiff
                open!.source = source
            case .close:
                guard var share = open else { throw DeltaFormatError.malformed("close with no open object") }
                share.ops += encoded
                shares.append(share)
                open = nil
                source = nil
            }
        }
        guard open == nil, shares.count == objects.count else {
            throw DeltaFormatError.malformed("ops write \(shares.count) of the \(objects.count) objects the part lists")
        }
        if !pendingOps.isEmpty, !shares.isEmpty {
            shares[shares.count - 1].ops += pendingOps
            shares[shares.count - 1].blobRanges += pendingRanges
        }
        return shares
    }

    /// An op after `close` that ends the previous object's work (ostree unsets a read
    /// source after closing): it belongs to that object.
    private static func attachTrailing(_ op: [UInt8], to shares: inout [ObjectShare], pending: inout [UInt8]) {
        if shares.isEmpty { pending += op } else { shares[shares.count - 1].ops += op }
    }
}
