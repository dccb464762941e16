// swift-tools-version:6.0
import PackageDescription

/// Layers, bottom up: C modules -> bindings (the only importers of C) -> LabKit core -> CLI.
let package = Package(
    name: "vmlab",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "vmlab", targets: ["vmlab"]),
        .library(name: "LabKit", targets: ["LabKit"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
    ],
    targets: [
        // 1. C libraries, seen only by their binding module.
        .systemLibrary(name: "CLibvirt", pkgConfig: "libvirt libvirt-qemu",
                       providers: [.apt(["libvirt-dev"])]),
        .systemLibrary(name: "CGuestfs", pkgConfig: "libguestfs",
                       providers: [.apt(["libguestfs-dev"])]),

        // 2. Bindings.
        .target(name: "Libvirt", dependencies: ["CLibvirt"], exclude: ["README.md"]),
        .target(name: "Guestfs", dependencies: ["CGuestfs"], exclude: ["README.md"]),

        // 3. Core.
        .target(name: "LabKit", dependencies: [
            "Libvirt", "Guestfs",
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "Yams", package: "Yams"),
            .product(name: "Crypto", package: "swift-crypto"),
        ], exclude: ["README.md"]),

        // 4. CLI: commands live in a library so tests can walk them; the executable is a shim.
        .target(name: "VMLabCLI", dependencies: [
            "LabKit", "Libvirt",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], exclude: ["README.md"]),
        .executableTarget(name: "vmlab", dependencies: ["VMLabCLI"]),

        .testTarget(name: "LibvirtTests", dependencies: ["Libvirt"]),
        .testTarget(name: "GuestfsTests", dependencies: ["Guestfs"]),
        .testTarget(name: "LabKitTests", dependencies: ["LabKit"]),
        .testTarget(name: "VMLabCLITests", dependencies: ["VMLabCLI"]),
        .testTarget(name: "IntegrationTests", dependencies: ["LabKit", "Libvirt", "Guestfs"]),
    ]
)
