import Foundation
@testable import Guests
import Testing
import TestSupport
import VMLabSupport

/// Guards the boot initrd: supermin's init, only the listed modules, each after its
/// dependencies (a module loaded before what it needs fails, and the guest never finds root).
@Suite("BootInitrd")
struct BootInitrdTests {
    static let dependencies = [
        "kernel/fs/ext4/ext4.ko": ["kernel/lib/crc16.ko", "kernel/fs/mbcache.ko", "kernel/fs/jbd2/jbd2.ko"],
        "kernel/lib/crc16.ko": [],
        "kernel/fs/mbcache.ko": [],
        "kernel/fs/jbd2/jbd2.ko": [],
        "kernel/drivers/virtio/virtio_pci.ko": ["kernel/drivers/virtio/virtio_ring.ko", "kernel/drivers/virtio/virtio.ko"],
        "kernel/drivers/virtio/virtio.ko": ["kernel/drivers/virtio/virtio_ring.ko"],
        "kernel/drivers/virtio/virtio_ring.ko": [],
        "kernel/drivers/block/virtio_blk.ko": ["kernel/drivers/virtio/virtio_ring.ko", "kernel/drivers/virtio/virtio.ko"],
        "kernel/drivers/char/hw_random/virtio-rng.ko": ["kernel/drivers/virtio/virtio.ko"],
        "kernel/drivers/ata/ata_piix.ko": [],
    ]

    @Test func dependenciesComeFirstAndEachModuleOnce() throws {
        let order = try BootInitrd.loadOrder(["virtio_pci", "virtio_blk", "ext4"], dependencies: Self.dependencies)
            .map { BootInitrd.moduleName($0) }
        #expect(order == ["virtio_ring", "virtio", "virtio_pci", "virtio_blk", "crc16", "mbcache", "jbd2", "ext4"])
    }

    @Test func dashAndUnderscoreNameTheSameModule() throws {
        #expect(try BootInitrd.loadOrder(["virtio_rng"], dependencies: Self.dependencies).last
                == "kernel/drivers/char/hw_random/virtio-rng.ko")
    }

    @Test func builtInModulesNeedNoFile() throws {
        #expect(try BootInitrd.loadOrder(["pvpanic", "ext4"], dependencies: Self.dependencies, builtin: ["pvpanic"]).count == 4)
    }

    @Test func anUnknownModuleIsAnError() {
        #expect(throws: VMLabError.self) { try BootInitrd.loadOrder(["nosuch"], dependencies: Self.dependencies) }
    }

    @Test func keepsSuperminsInitAndOnlyTheListedModules() throws {
        let tmp = try TempDir()
        defer { tmp.remove() }
        var dep = ""
        for (file, needs) in Self.dependencies.sorted(by: { $0.key < $1.key }) {
            dep += "\(file): \(needs.joined(separator: " "))\n"
            try tmp.write("modules/\(file)", "module \(file)")
        }
        try tmp.write("modules/modules.dep", dep)
        let supermin = CPIOArchive(entries: [
            .directory("."),
            .file("init", contents: Data("static init".utf8), mode: 0o755),
            .file("ata_piix.ko", contents: Data("ata".utf8), mode: 0o644),
            .file("modules", contents: Data("ata_piix.ko\n".utf8), mode: 0o644),
        ]).encoded()
        let initrd = try BootInitrd.make(superminInitrd: supermin, moduleDirectory: tmp.path("modules"), modules: ["virtio_blk"])
        let files = try CPIOArchive.files(in: initrd)
        #expect(files.map(\.name) == ["init", "virtio_ring.ko", "virtio.ko", "virtio_blk.ko", "modules"])
        #expect(files[0].contents == Data("static init".utf8) && files[0].mode == 0o755)
        #expect(files[3].contents == Data("module kernel/drivers/block/virtio_blk.ko".utf8))
        #expect(String(decoding: files[4].contents, as: UTF8.self) == "virtio_ring.ko\nvirtio.ko\nvirtio_blk.ko\n")
    }

    @Test func anInitrdWithoutInitIsRejected() throws {
        let tmp = try TempDir()
        defer { tmp.remove() }
        try tmp.write("modules/modules.dep", "")
        let empty = CPIOArchive(entries: []).encoded()
        #expect(throws: VMLabError.self) { try BootInitrd.make(superminInitrd: empty, moduleDirectory: tmp.path("modules"), modules: []) }
    }
}
