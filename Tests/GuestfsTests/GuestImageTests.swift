import Foundation
import Testing
@testable import Guestfs

/// Real-appliance tests. Each launch costs ~10 s under TCG, so work is batched:
/// one read-write launch, one read-only launch, plus a failing open that never launches.
@Suite(.serialized)
struct GuestImageTests {
    /// KVM hangs on this (nested) host: tests always use software emulation.
    static let accelerator = Accelerator.softwareOnly

    @Test func writeThenReopenReadOnly() async throws {
        try await onDispatchThread { try Self.writeThenReopenReadOnlyBody() }
    }

    /// Blocks for two appliance launches: kept off the cooperative pool the other tests run on.
    static func writeThenReopenReadOnlyBody() throws {
        let fm = FileManager.default
        let dir = fm.temporaryDirectory.appendingPathComponent("guestfs-test-\(UUID().uuidString)")
        try fm.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? fm.removeItem(at: dir) }

        // 64 MiB sparse raw image.
        let imagePath = dir.appendingPathComponent("disk.img").path
        #expect(fm.createFile(atPath: imagePath, contents: nil))
        let fh = try #require(FileHandle(forWritingAtPath: imagePath))
        try fh.truncate(atOffset: 64 * 1024 * 1024)
        try fh.close()

        // Host-side file for copyIn.
        let hostFile = dir.appendingPathComponent("host.txt")
        let hostBytes = Array("from the host\n".utf8)
        try Data(hostBytes).write(to: hostFile)

        let binary: [UInt8] = [0x7F, 0x45, 0x00, 0xFF, 0x00, 0x01, 0x0A, 0x00]
        let text = Array("hello, guest\nsecond line\n".utf8)

        // Launch 1: read-write.
        do {
            let image = try GuestImage(
                disks: [.init(path: imagePath, format: "raw", readOnly: false)],
                accelerator: Self.accelerator)
            #expect(try image.listDevices() == ["/dev/sda"])
            try image.makeFilesystem(type: "ext4", device: "/dev/sda")
            try image.mount("/dev/sda")
            try image.makeDirectory("/etc/vmlab/nested")
            try image.writeFile("/etc/vmlab/nested/data.bin", contents: binary)
            try image.writeFile("/etc/vmlab/nested/note.txt", contents: text)
            try image.writeFile("/empty", contents: [])
            #expect(try image.listDirectory("/etc/vmlab/nested").sorted() == ["data.bin", "note.txt"])
            #expect(try image.exists("/etc/vmlab/nested/data.bin"))
            #expect(try !image.exists("/etc/vmlab/missing"))
            #expect(try image.readFile("/empty") == [])

            try image.writeFile("/scratch", contents: [1, 2, 3])
            try image.remove("/scratch")
            try image.remove("/scratch")  // rm -f: missing file is fine
            #expect(try !image.exists("/scratch"))

            #expect(throws: GuestfsError.self) { try image.makeDirectory("/x/y", parents: false) }

            try image.copyIn(hostFile.path, to: "/etc/vmlab")
            let outDir = dir.appendingPathComponent("out")
            try fm.createDirectory(at: outDir, withIntermediateDirectories: true)
            try image.copyOut("/etc/vmlab/nested", to: outDir.path)
            let copied = try Data(contentsOf: outDir.appendingPathComponent("nested/data.bin"))
            #expect(Array(copied) == binary)

            try image.sync()
            try image.unmountAll()
            image.close()
            image.close()  // idempotent
            #expect(image.isClosed)
            let afterClose = #expect(throws: GuestfsError.self) { try image.listDevices() }
            #expect(afterClose?.message == "handle is closed")
        }

        // Launch 2: read-only reopen of the same file.
        do {
            let image = try GuestImage(
                disks: [.init(path: imagePath, format: "raw", readOnly: true)],
                accelerator: Self.accelerator, memoryMiB: 512)
            defer { image.close() }
            let filesystems = try image.listFilesystems()
            #expect(filesystems.contains { $0.device == "/dev/sda" && $0.type == "ext4" })
            try image.mount("/dev/sda", readOnly: true)
            #expect(try image.readFile("/etc/vmlab/nested/data.bin") == binary)
            #expect(try image.readFile("/etc/vmlab/nested/note.txt") == text)
            #expect(try image.readFile("/etc/vmlab/host.txt") == hostBytes)
            #expect(try image.listDirectory("/etc/vmlab").sorted() == ["host.txt", "nested"])

            let writeError = #expect(throws: GuestfsError.self) {
                try image.writeFile("/etc/vmlab/new.txt", contents: [0x41])
            }
            #expect(writeError?.message.isEmpty == false)
            let readError = #expect(throws: GuestfsError.self) { try image.readFile("/nope") }
            #expect(readError?.operation.contains("/nope") == true)
        }
    }

    @Test func openingMissingImageThrows() throws {
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("guestfs-missing-\(UUID().uuidString).img").path
        let error = #expect(throws: GuestfsError.self) {
            _ = try GuestImage(disks: [.init(path: path, format: "raw", readOnly: true)],
                               accelerator: Self.accelerator)
        }
        #expect(error?.message.contains(path) == true)
        #expect(error?.description.contains(path) == true)
    }
}

/// Runs blocking work (appliance launches take ~10 s each under TCG) on a dispatch thread,
/// so the tests running beside this one keep their threads.
func onDispatchThread(_ body: @escaping @Sendable () throws -> Void) async throws {
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
        DispatchQueue.global().async { continuation.resume(with: Result { try body() }) }
    }
}
