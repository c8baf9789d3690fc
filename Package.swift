// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "deltagen",
    products: [
        .executable(name: "deltagen", targets: ["deltagen"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        // FileDescriptor, FilePath and Errno for the file operations of the publish path.
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
    ],
    targets: [
        // System libraries, found with pkg-config. Each module map wraps one C library.
        .systemLibrary(name: "CGLib", pkgConfig: "gio-2.0",
                       providers: [.apt(["libglib2.0-dev"])]),
        .systemLibrary(name: "CLibOSTree", pkgConfig: "ostree-1",
                       providers: [.apt(["libostree-dev"])]),
        .systemLibrary(name: "CLZMA", pkgConfig: "liblzma",
                       providers: [.apt(["liblzma-dev"])]),
        // Suffix arrays for the bsdiff encoder.
        .systemLibrary(name: "CDivSufSort", pkgConfig: "libdivsufsort64",
                       providers: [.apt(["libdivsufsort-dev"])]),
        // Repo tarballs for ci-job: read entry by entry so each one is checked before it is written.
        .systemLibrary(name: "CArchive", pkgConfig: "libarchive",
                       providers: [.apt(["libarchive-dev"])]),
        // Header-only wrappers for Linux calls Swift's Glibc module lacks (renameat2).
        .systemLibrary(name: "CLinuxShim"),

        // The wire format: pure Swift plus liblzma and GLib's SHA-256, no repository access.
        .target(name: "DeltaFormat", dependencies: ["CLZMA", "CGLib"]),
        // The only module that calls libostree.
        .target(name: "OSTreeRepo", dependencies: ["CLibOSTree", "CGLib", "DeltaFormat"]),
        // The generator: tree diff, object plans, part packing, atomic writing.
        .target(name: "DeltaCompiler", dependencies: ["DeltaFormat", "OSTreeRepo", "CLinuxShim", "CDivSufSort",
                                                     .product(name: "SystemPackage", package: "swift-system")]),
        // Fleet side: targets.json and status files -> commit pairs; CI deltas file; delta-stats.
        .target(name: "DeltaPlanning", dependencies: ["DeltaFormat"]),
        // explain: where a delta's bytes go, by object, kind, encoding and directory.
        .target(name: "DeltaInsight", dependencies: ["DeltaFormat", "OSTreeRepo", "DeltaCompiler", "CGLib", "CLZMA"]),
        // Fleet side: the CI job (fetch, verify, merge tarballs), generating each delta,
        // merge-deltas, publishing, delta-stats. The CLI only parses, calls it and prints.
        .target(name: "DeltaFactory", dependencies: ["DeltaCompiler", "DeltaInsight", "DeltaPlanning", "DeltaFormat", "OSTreeRepo", "CArchive"]),
        .executableTarget(name: "deltagen", dependencies: [
            "DeltaCompiler", "DeltaFactory", "DeltaFormat", "DeltaPlanning", "DeltaInsight", "OSTreeRepo",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        // libFuzzer target for the delta reader; see docs/reliability.md for how to run it.
        .executableTarget(name: "DeltaFuzz", dependencies: ["DeltaFormat"]),

        // Helpers shared by the test targets (a seeded generator); never linked into deltagen.
        .target(name: "TestUtilities", path: "Tests/TestUtilities"),
        .testTarget(name: "DeltaFormatTests", dependencies: ["DeltaFormat", "CGLib", "TestUtilities"]),
        .testTarget(name: "DeltaPlanningTests", dependencies: ["DeltaPlanning"]),
        .testTarget(name: "DeltaFactoryTests", dependencies: ["DeltaFactory", "TestUtilities", "DeltaCompiler", "DeltaPlanning", "DeltaFormat", "OSTreeRepo"]),
        .testTarget(name: "DeltaCompilerTests", dependencies: ["DeltaCompiler", "DeltaFormat", "OSTreeRepo", "TestUtilities", "CGLib"]),
        .testTarget(name: "CompatibilityTests", dependencies: ["deltagen", "DeltaFuzz", "TestUtilities", "DeltaCompiler", "DeltaFormat", "OSTreeRepo", "DeltaInsight"]),
        .testTarget(name: "DeltaInsightTests", dependencies: ["DeltaInsight", "DeltaFormat", "OSTreeRepo"]),
    ],
    swiftLanguageModes: [.v6]
)
