import CGLib
import CLibOSTree
import DeltaFormat
import Foundation

/// Server-side operations: merging commits in from other repositories, and refreshing what
/// clients read to find deltas (the summary and the per-commit delta indexes).
extension Repository {
    /// Creates a new repository at `path` (its parent must exist) and opens it.
    public static func create(path: String, mode: RepositoryMode = .archive) throws -> Repository {
        let file = g_file_new_for_path(path)
        defer { g_object_unref(UnsafeMutableRawPointer(file)) }
        guard let raw = ostree_repo_new(file) else {
            throw RepositoryError(.io, "cannot create repository object")
        }
        let handle = GObjectReference(adopting: UnsafeMutableRawPointer(raw))
        try withExtendedLifetime(handle) {
            try gCall { ostree_repo_create(raw, mode.ostreeMode, nil, $0) }
        }
        return try Repository(path: path)
    }

    /// Copies `commits` and every object they reach from the repository at `sourcePath`,
    /// as `ostree pull-local` does. Objects are checksummed on the way in, because the source
    /// usually came out of a downloaded tarball.
    public func pullLocal(from sourcePath: String, commits: [Checksum]) throws {
        let url = URL(fileURLWithPath: sourcePath).absoluteString
        let options = PullOptions(commits: commits, flags: OSTREE_REPO_PULL_FLAGS_UNTRUSTED.rawValue)
        try withHandle { repo in
            try withPullOptions(options) { variant in
                try gCall { ostree_repo_pull_with_options(repo, url, variant, nil, nil, $0) }
            }
        }
    }

    /// Pulls `commits` from an HTTP(S) repository. libostree only treats `file://` as a URL,
    /// so a temporary remote is configured for the pull and deleted afterwards, keeping the
    /// published config free of it.
    public func pull(fromURL url: String, commits: [Checksum], headers: [(String, String)] = []) throws {
        let remote = "deltagen-fetch"
        try withHandle { repo in
            let remoteOptions = g_variant_ref_sink(dictionary([("gpg-verify", g_variant_new_boolean(0))]))
            defer { g_variant_unref(remoteOptions) }
            try gCall { ostree_repo_remote_change(repo, nil, OSTREE_REPO_REMOTE_CHANGE_REPLACE, remote, url,
                                                  remoteOptions, nil, $0) }
            defer {
                var ignored: UnsafeMutablePointer<GError>? = nil
                if ostree_repo_remote_change(repo, nil, OSTREE_REPO_REMOTE_CHANGE_DELETE_IF_EXISTS, remote,
                                             nil, nil, nil, &ignored) == 0 {
                    g_error_free(ignored)
                }
            }
            let options = PullOptions(commits: commits, flags: OSTREE_REPO_PULL_FLAGS_NONE.rawValue, headers: headers)
            try withPullOptions(options) { variant in
                try gCall { ostree_repo_pull_with_options(repo, remote, variant, nil, nil, $0) }
            }
        }
    }

    /// Sets `core.indexed-deltas=true`, which tells clients to look for deltas in
    /// `delta-indexes/` instead of the summary.
    public func enableIndexedDeltas() throws {
        try withHandle { repo in
            guard let config = ostree_repo_copy_config(repo) else {
                throw RepositoryError(.io, "cannot read the repository config")
            }
            defer { g_key_file_unref(config) }
            g_key_file_set_boolean(config, "core", "indexed-deltas", 1)
            try gCall { ostree_repo_write_config(repo, config, $0) }
        }
    }

    /// Rewrites `delta-indexes/` from the deltas now in `deltas/`, for every target commit or one.
    public func reindexDeltas(to commit: Checksum? = nil) throws {
        try withHandle { repo in
            try gCall { ostree_repo_static_delta_reindex(repo, OSTREE_STATIC_DELTA_INDEX_FLAGS_NONE, commit?.hex, nil, $0) }
        }
    }

    /// Rewrites the summary file: refs, and the deltas with their superblock digests.
    public func regenerateSummary() throws {
        try withHandle { repo in
            try gCall { ostree_repo_regenerate_summary(repo, nil, nil, $0) }
        }
    }

    /// The deltas in `deltas/`, as libostree lists them.
    public func listDeltas() throws -> [DeltaName] {
        var array: UnsafeMutablePointer<GPtrArray>? = nil
        try withHandle { repo in
            try gCall { ostree_repo_list_static_delta_names(repo, &array, nil, $0) }
        }
        return consumeStringArray(array).compactMap { DeltaName($0) }.sorted { $0.description < $1.description }
    }

    /// The deltas that `delta-indexes/` lists for target `commit`: what a client with
    /// indexed deltas can choose from. Empty when there is no index for it.
    public func indexedDeltas(to commit: Checksum) throws -> [DeltaName] {
        let path = "\(self.path)/\(DeltaName(from: nil, to: commit).indexRelativePath)"
        guard FileManager.default.fileExists(atPath: path) else { return [] }
        var contents: UnsafeMutablePointer<CChar>? = nil
        var length: gsize = 0
        try gCall { g_file_get_contents(path, &contents, &length, $0) }
        // The variant points into `contents`; g_free runs when GLib drops the bytes.
        let bytes = g_bytes_new_take(contents, length)
        defer { g_bytes_unref(bytes) }
        let type = g_variant_type_new("a{sv}")
        defer { g_variant_type_free(type) }
        let index = g_variant_ref_sink(g_variant_new_from_bytes(type, bytes, 0))
        defer { g_variant_unref(index) }
        let deltasType = g_variant_type_new("a{sv}")
        defer { g_variant_type_free(deltasType) }
        guard let deltas = g_variant_lookup_value(index, "ostree.static-deltas", deltasType) else { return [] }
        defer { g_variant_unref(deltas) }
        var names: [DeltaName] = []
        for i in 0..<g_variant_n_children(deltas) {
            let entry = g_variant_get_child_value(deltas, i)
            defer { g_variant_unref(entry) }
            let key = g_variant_get_child_value(entry, 0)
            defer { g_variant_unref(key) }
            if let cName = g_variant_get_string(key, nil), let name = DeltaName(String(cString: cName)) {
                names.append(name)
            }
        }
        return names.sorted { $0.description < $1.description }
    }

    /// Whether the repository holds the commit object itself.
    public func hasCommit(_ commit: Checksum) throws -> Bool {
        try has(ObjectName(commit, .commit))
    }
}

// MARK: - GVariant plumbing for pull options

private struct PullOptions {
    var commits: [Checksum]
    var flags: UInt32
    var headers: [(String, String)] = []
}

extension Repository {
    /// Runs `body` with this repository's `OstreeRepo *`, keeping `self` alive meanwhile.
    fileprivate func withHandle<T>(_ body: (OpaquePointer) throws -> T) throws -> T {
        try withExtendedLifetime(self) { try body(repo) }
    }

    /// Builds the `a{sv}` pull options, passes them to `body`, and drops them afterwards.
    fileprivate func withPullOptions(_ options: PullOptions, _ body: (OpaquePointer) throws -> Void) throws {
        var entries: [(String, OpaquePointer)] = []
        entries.append(("flags", g_variant_new_int32(Int32(bitPattern: options.flags))))
        entries.append(("refs", stringArray(options.commits.map(\.hex))))
        entries.append(("depth", g_variant_new_int32(0)))
        entries.append(("gpg-verify", g_variant_new_boolean(0)))
        entries.append(("gpg-verify-summary", g_variant_new_boolean(0)))
        if !options.headers.isEmpty {
            let tuples: [OpaquePointer] = options.headers.map { name, value in
                var pair: [OpaquePointer?] = [g_variant_new_string(name), g_variant_new_string(value)]
                return pair.withUnsafeMutableBufferPointer { g_variant_new_tuple($0.baseAddress, 2) }
            }
            let tupleType = g_variant_type_new("(ss)")
            defer { g_variant_type_free(tupleType) }
            var children: [OpaquePointer?] = tuples
            entries.append(("http-headers", children.withUnsafeMutableBufferPointer {
                g_variant_new_array(tupleType, $0.baseAddress, gsize($0.count))
            }))
        }
        let variant = g_variant_ref_sink(dictionary(entries))!
        defer { g_variant_unref(variant) }
        try body(variant)
    }
}

/// An `a{sv}` from floating values; the result is floating too, so the caller sinks it once.
private func dictionary(_ entries: [(String, OpaquePointer?)]) -> OpaquePointer {
    var children: [OpaquePointer?] = entries.map { key, value in
        g_variant_new_dict_entry(g_variant_new_string(key), g_variant_new_variant(value))
    }
    let type = g_variant_type_new("{sv}")
    defer { g_variant_type_free(type) }
    return children.withUnsafeMutableBufferPointer { g_variant_new_array(type, $0.baseAddress, gsize($0.count)) }
}

private func stringArray(_ strings: [String]) -> OpaquePointer {
    var cStrings: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
    defer { cStrings.forEach { free($0) } }
    return cStrings.withUnsafeMutableBufferPointer { buffer in
        buffer.baseAddress!.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: buffer.count) {
            g_variant_new_strv($0, gssize(buffer.count))
        }
    }
}

/// Copies a GPtrArray of C strings (with a free function set) and unrefs it.
private func consumeStringArray(_ array: UnsafeMutablePointer<GPtrArray>?) -> [String] {
    guard let array else { return [] }
    defer { g_ptr_array_unref(array) }
    var out: [String] = []
    for i in 0..<Int(array.pointee.len) {
        if let p = array.pointee.pdata[i] { out.append(String(cString: p.assumingMemoryBound(to: CChar.self))) }
    }
    return out
}

extension RepositoryMode {
    var ostreeMode: OstreeRepoMode {
        switch self {
        case .bare: return OSTREE_REPO_MODE_BARE
        case .archive: return OSTREE_REPO_MODE_ARCHIVE
        case .bareUser: return OSTREE_REPO_MODE_BARE_USER
        case .bareUserOnly: return OSTREE_REPO_MODE_BARE_USER_ONLY
        case .bareSplitXattrs: return OSTREE_REPO_MODE_BARE_SPLIT_XATTRS
        }
    }
}
