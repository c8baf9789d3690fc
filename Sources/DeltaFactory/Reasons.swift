import Foundation

/// strerror's text for `code`, lowercased: "permission denied".
public func posixReason(_ code: Int32) -> String { lowercasedFirst(String(cString: strerror(code))) }

/// The reason inside a Foundation or POSIX error, as one short lowercase phrase
/// ("permission denied", "not a directory"), for messages that name the path themselves.
/// Any other error is described as it describes itself.
public func plainReason(_ error: Error) -> String {
    let ns = error as NSError
    func posix(_ code: Int) -> String { lowercasedFirst(String(cString: strerror(Int32(code)))) }
    if ns.domain == NSPOSIXErrorDomain { return posix(ns.code) }
    if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
        return posix(underlying.code)
    }
    if ns.domain == NSCocoaErrorDomain {
        switch CocoaError.Code(rawValue: ns.code) {
        case .fileNoSuchFile, .fileReadNoSuchFile: return posix(Int(ENOENT))
        case .fileReadNoPermission, .fileWriteNoPermission: return posix(Int(EACCES))
        case .fileWriteFileExists: return posix(Int(EEXIST))
        case .fileWriteVolumeReadOnly: return posix(Int(EROFS))
        case .fileWriteOutOfSpace: return posix(Int(ENOSPC))
        default: break
        }
    }
    if ns.domain == NSCocoaErrorDomain || ns.domain == NSURLErrorDomain {
        return lowercasedFirst(ns.localizedDescription.trimmed)
    }
    // deltagen's own errors (and GLib's) already read as a sentence.
    return String(describing: error).trimmed
}

private func lowercasedFirst(_ s: String) -> String {
    guard let first = s.first else { return s }
    return first.lowercased() + s.dropFirst()
}

extension String {
    /// One line without surrounding whitespace.
    public var trimmed: String { trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\n").joined(separator: " ") }
}

/// Reads an input file (targets, status, deltas file, delta-stats). Pipes are fine
/// (`--targets <(curl …)`), so the size is capped while reading rather than checked first:
/// `/dev/zero` or a wrong multi-gigabyte path gets an error, not an endless read.
public func readInput(_ path: String, limit: Int = 256 << 20) throws -> Data {
    var isDir: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
        throw FactoryError("cannot read \(path): no such file")
    }
    if isDir.boolValue { throw FactoryError("cannot read \(path): it is a directory") }
    guard let handle = FileHandle(forReadingAtPath: path) else { throw FactoryError("cannot read \(path): permission denied") }
    defer { try? handle.close() }
    var data = Data()
    do {
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
            data.append(chunk)
            if data.count > limit { throw FactoryError("cannot read \(path): larger than \(limit >> 20) MiB") }
        }
    } catch let e as FactoryError {
        throw e
    } catch {
        throw FactoryError("cannot read \(path): \(plainReason(error))", causedBy: error)
    }
    return data
}
