/// Delta part instructions (format §5.3). Each is one byte followed by a fixed number of varints.
public enum Opcode: UInt8, CaseIterable, Sendable {
    case openSpliceAndClose = 0x53  // 'S'
    case open = 0x6F                // 'o'
    case write = 0x77               // 'w'
    case setReadSource = 0x72       // 'r'
    case unsetReadSource = 0x52     // 'R'
    case close = 0x63               // 'c'
    case bspatch = 0x42             // 'B'

    /// The name `ostree static-delta show` uses in its op counts.
    public var showName: String {
        switch self {
        case .openSpliceAndClose: return "openspliceclose"
        case .open: return "open"
        case .write: return "write"
        case .setReadSource: return "setread"
        case .unsetReadSource: return "unsetread"
        case .close: return "close"
        case .bspatch: return "bspatch"
        }
    }

    /// ostree's order of op counts in `show`.
    public static let showOrder: [Opcode] = [.openSpliceAndClose, .open, .write, .setReadSource, .unsetReadSource, .close, .bspatch]
}

/// One decoded instruction. `S` takes two arguments for metadata objects and four for content.
public enum Instruction: Equatable, Sendable {
    case spliceMetadata(size: UInt64, offset: UInt64)
    case spliceContent(modeIndex: UInt64, xattrIndex: UInt64, size: UInt64, offset: UInt64)
    case open(modeIndex: UInt64, xattrIndex: UInt64, size: UInt64)
    case write(size: UInt64, offset: UInt64)
    case setReadSource(offset: UInt64)
    case unsetReadSource
    case close
    case bspatch(offset: UInt64, length: UInt64)

    public var opcode: Opcode {
        switch self {
        case .spliceMetadata, .spliceContent: return .openSpliceAndClose
        case .open: return .open
        case .write: return .write
        case .setReadSource: return .setReadSource
        case .unsetReadSource: return .unsetReadSource
        case .close: return .close
        case .bspatch: return .bspatch
        }
    }

    public func append(to out: inout [UInt8]) {
        out.append(opcode.rawValue)
        let args: [UInt64]
        switch self {
        case .spliceMetadata(let s, let o): args = [s, o]
        case .spliceContent(let m, let x, let s, let o): args = [m, x, s, o]
        case .open(let m, let x, let s): args = [m, x, s]
        case .write(let s, let o): args = [s, o]
        case .setReadSource(let o): args = [o]
        case .unsetReadSource, .close: args = []
        case .bspatch(let o, let l): args = [o, l]
        }
        for a in args { Varint.append(a, to: &out) }
    }
}

/// Decodes an op stream. The object list tells `S` whether it takes 2 or 4 arguments,
/// exactly as the client decides it.
public struct InstructionDecoder {
    private let ops: [UInt8]
    private var offset = 0
    private let objects: [ObjectName]
    private var objectIndex = 0

    public init(ops: [UInt8], objects: [ObjectName]) {
        self.ops = ops
        self.objects = objects
    }

    /// The next instruction, or nil at the end of the stream.
    public mutating func next() throws -> Instruction? {
        guard offset < ops.count else { return nil }
        let at = offset
        guard let op = Opcode(rawValue: ops[offset]) else {
            throw DeltaFormatError.malformed("unknown opcode \(ops[offset]) at offset \(at)")
        }
        offset += 1
        func arg() throws -> UInt64 { try Varint.read(ops, at: &offset) }
        switch op {
        case .openSpliceAndClose:
            guard objectIndex < objects.count else {
                throw DeltaFormatError.malformed("op at offset \(at) takes object \(objectIndex) of \(objects.count)")
            }
            let isMeta = objects[objectIndex].type.isMetadata
            objectIndex += 1
            if isMeta { return .spliceMetadata(size: try arg(), offset: try arg()) }
            return .spliceContent(modeIndex: try arg(), xattrIndex: try arg(), size: try arg(), offset: try arg())
        case .open:
            guard objectIndex < objects.count else {
                throw DeltaFormatError.malformed("op at offset \(at) takes object \(objectIndex) of \(objects.count)")
            }
            return .open(modeIndex: try arg(), xattrIndex: try arg(), size: try arg())
        case .write: return .write(size: try arg(), offset: try arg())
        case .setReadSource: return .setReadSource(offset: try arg())
        case .unsetReadSource: return .unsetReadSource
        case .close:
            objectIndex += 1
            return .close
        case .bspatch: return .bspatch(offset: try arg(), length: try arg())
        }
    }
}
