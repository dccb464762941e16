// swift-tools-version:6.0
import PackageDescription

/// Layers, bottom up (docs/architecture.md): C modules -> bindings (the only importers of
/// C) -> VMLabSupport -> LabModel -> LabStore -> Guests -> Runner, Results -> Grading ->
/// VMLabCLI -> vmlab. Arrows point only down; Tests/ArchitectureTests enforces it.
let package = Package(
    name: "vmlab",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "vmlab", targets: ["vmlab"]),
        .library(name: "VMLabCLI", targets: ["VMLabCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
    ],
    targets: [
        // C libraries, seen only by their binding module.
        .systemLibrary(name: "CLibvirt", pkgConfig: "libvirt libvirt-qemu", providers: [.apt(["libvirt-dev"])]),
        .systemLibrary(name: "CGuestfs", pkgConfig: "libguestfs", providers: [.apt(["libguestfs-dev"])]),

        // Bindings.
        .target(name: "Libvirt", dependencies: ["CLibvirt"], exclude: ["README.md"]),
        .target(name: "Guestfs", dependencies: ["CGuestfs"], exclude: ["README.md"]),

        // The core, one job per target.
        .target(name: "VMLabSupport"),
        .target(name: "LabModel", dependencies: [
            "VMLabSupport", .product(name: "Yams", package: "Yams"), .product(name: "Crypto", package: "swift-crypto"),
        ]),
        .target(name: "LabStore", dependencies: ["VMLabSupport", "LabModel", .product(name: "GRDB", package: "GRDB.swift")]),
        .target(name: "Guests", dependencies: [
            "VMLabSupport", "LabModel", "LabStore", "Libvirt", "Guestfs",
            .product(name: "Yams", package: "Yams"), .product(name: "Crypto", package: "swift-crypto"),
        ]),
        .target(name: "Runner", dependencies: [
            "VMLabSupport", "LabModel", "LabStore", "Guests", "Libvirt", .product(name: "Crypto", package: "swift-crypto"),
        ]),
        .target(name: "Results", dependencies: ["VMLabSupport", "LabModel"]),
        .target(name: "Grading", dependencies: [
            "VMLabSupport", "LabModel", "LabStore", "Guests", "Runner", "Results",
            .product(name: "Crypto", package: "swift-crypto"), .product(name: "Yams", package: "Yams"),
        ]),

        // The CLI: commands live in a library so tests can walk them; the executable is a shim.
        .target(name: "VMLabCLI", dependencies: [
            "VMLabSupport", "LabModel", "LabStore", "Guests", "Runner", "Results", "Grading",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], exclude: ["README.md"]),
        .executableTarget(name: "vmlab", dependencies: ["VMLabCLI"]),
        // Writes bundles for scripts/grade-bench.sh; a measurement, not a test or a product.
        .executableTarget(name: "grade-bench", dependencies: ["Grading", "LabModel", "VMLabSupport"], path: "Benchmarks/GradeBench"),

        // Test helpers shared by the test targets (temporary folders and courses).
        .target(name: "TestSupport", path: "Tests/TestSupport"),

        .testTarget(name: "LibvirtTests", dependencies: ["Libvirt"]),
        .testTarget(name: "GuestfsTests", dependencies: ["Guestfs"]),
        .testTarget(name: "VMLabSupportTests", dependencies: ["VMLabSupport", "TestSupport"]),
        .testTarget(name: "LabModelTests", dependencies: ["LabModel", "TestSupport"]),
        .testTarget(name: "LabStoreTests", dependencies: ["LabStore", "TestSupport"]),
        .testTarget(name: "GuestsTests", dependencies: ["Guests", "TestSupport"]),
        .testTarget(name: "RunnerTests", dependencies: ["Runner", "TestSupport"]),
        .testTarget(name: "ResultsTests", dependencies: ["Results", "TestSupport"]),
        .testTarget(name: "GradingTests", dependencies: ["Grading", "TestSupport"]),
        .testTarget(name: "VMLabCLITests", dependencies: ["VMLabCLI", "TestSupport"]),
        .testTarget(name: "ArchitectureTests"),
        .testTarget(name: "IntegrationTests", dependencies: ["Grading", "Runner", "Guests", "Libvirt", "Guestfs", "TestSupport"]),
    ]
)
