import Foundation
import Grading
import Guestfs
import Guests
import LabModel
import LabStore
import Libvirt
import Results
import Runner
import Testing
import VMLabSupport

/// The foundation end to end on the real host: recipe -> image -> guest -> agent ->
/// snapshot/revert -> forced crash -> restart -> removal, leaving nothing behind.
extension RealHost {
@Suite(.serialized)
struct GuestLifecycleTests {
    @Test func imageGuestSnapshotCrashAndRemoval() async throws {
        let home = try IntegrationEnvironment.makeHome()
        defer { try? FileManager.default.removeItem(at: home.root) }
        let connection = try IntegrationEnvironment.connect()
        let store = try Store(home: home)
        let recipe = try ImageRecipe.load(IntegrationEnvironment.repository.appendingPathComponent("Images/base.yaml"))

        // Image: built once, then a cache hit with the same digest.
        let builder = ImageBuilder(home: home)
        let (image, cachedFirst) = try await builder.build(recipe)
        #expect(!cachedFirst)
        let (again, cachedSecond) = try await builder.build(recipe)
        #expect(cachedSecond)
        #expect(again.manifest.digest == image.manifest.digest)
        #expect(image.manifest.packages["qemu-guest-agent"] != nil)
        #expect(image.manifest.packages.count > recipe.packages.count, "the manifest lists the dependency closure")

        let accelerator = try await IntegrationEnvironment.accelerator(home: home)
        var guests = GuestManager(home: home, store: store, connection: connection)
        guests.bootTimeout = .seconds(240)
        let name = "it-\(getpid() % 100_000)"
        let domainName = Naming.guestDomain(name)
        defer { try? guests.remove(name) }

        // Create records before creating; the overlay is copy-on-write and small.
        let record = try guests.create(name: name, image: image, accelerator: accelerator, memoryMiB: 384)
        #expect(Set(try store.resources(owner: "guest:\(name)").map(\.kind)) == [.domain, .file, .directory])
        #expect(fileSize(URL(fileURLWithPath: record.disk)) < 2 << 20)
        try await guests.start(name)

        // Commands through the agent: output, exit status, stdin, hostname from the cmdline.
        let agent = try guests.agent(name)
        let uname = try await agent.exec(["uname", "-r"])
        #expect(uname.exitCode == 0)
        #expect(uname.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines) == image.manifest.kernelRelease)
        #expect(try await agent.shell("exit 7").exitCode == 7)
        #expect(try await agent.exec(["cat"], stdin: Data("piped".utf8)).stdoutText == "piped")
        #expect(try await agent.exec(["cat", "/proc/sys/kernel/hostname"]).stdoutText.contains(name))
        try agent.writeFile("/root/written", contents: Data("through the agent\n".utf8))
        #expect(try agent.readFile("/root/written") == Data("through the agent\n".utf8))

        // The serial console carries what the guest writes to ttyS0.
        let console = try guests.console(name)
        let seen = ConsoleCapture()
        let reader = Thread {
            while let bytes = try? console.receive(), !bytes.isEmpty {
                seen.append(bytes)
                if seen.contains("CONSOLE-MARK") { break }
            }
        }
        reader.start()
        #expect(try await agent.shell("echo CONSOLE-MARK > /dev/ttyS0").exitCode == 0)
        let consoleDeadline = ContinuousClock.now + .seconds(15)
        while !seen.contains("CONSOLE-MARK"), ContinuousClock.now < consoleDeadline {
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(seen.contains("CONSOLE-MARK"))
        console.close()

        // Snapshot, write a marker, revert: the marker is gone and the agent answers.
        try guests.snapshot(name, as: "baseline")
        #expect(try await agent.shell("echo here > /root/marker && sync").exitCode == 0)
        #expect(try await agent.exec(["cat", "/root/marker"]).stdoutText == "here\n")
        let reverted = ContinuousClock.now
        try await guests.revert(name, to: "baseline")
        let revertSeconds = (ContinuousClock.now - reverted)
        #expect(try await guests.agent(name).exec(["test", "-e", "/root/marker"]).exitCode == 1)
        #expect(revertSeconds < .seconds(30))
        #expect(try guests.snapshots(name).map(\.name) == ["baseline"])

        // Forced crash, then a clean start again.
        try guests.destroy(name)
        #expect(try guests.list().first { $0.record.name == name }?.state == "shut off")
        await #expect(throws: VMLabError.self) { try await guests.agent(name).exec(["true"]) }
        try await guests.start(name)
        #expect(try await guests.agent(name).exec(["true"]).exitCode == 0)

        // Offline: write, power off cleanly, read the file back from the overlay with libguestfs.
        #expect(try await guests.agent(name).shell("echo offline > /root/offline && sync").exitCode == 0)
        try await guests.stop(name)
        let disk = record.disk
        let (offlineFile, offlineInit) = try await offPool {
            let offline = try GuestImage(disks: [.init(path: disk, format: "qcow2", readOnly: true)],
                                         accelerator: accelerator == .kvm ? .automatic : .softwareOnly)
            defer { offline.close() }
            try offline.mount("/dev/sda", readOnly: true)
            return (try offline.readFile("/root/offline"), try offline.readFile("/init"))
        }
        #expect(offlineFile == Array("offline\n".utf8))
        #expect(offlineInit == Array(try Data(contentsOf: recipe.payload[0].hostFile)))

        // Removal leaves no domain, snapshot, overlay or record.
        try guests.remove(name)
        #expect(try connection.lookupDomain(named: domainName) == nil)
        #expect(!FileManager.default.fileExists(atPath: record.disk))
        #expect(!FileManager.default.fileExists(atPath: home.guests.appendingPathComponent(name).path))
        #expect(try store.resources().isEmpty)
        #expect(try store.guests().isEmpty)
        #expect(try IntegrationEnvironment.leftovers(connection, home: home).isEmpty)
    }

    /// Bad input through the real binary: clear messages, the documented exit statuses,
    /// and nothing half-created.
    @Test func cliErrorsAndExitStatus() async throws {
        let home = try IntegrationEnvironment.makeHome()
        defer { try? FileManager.default.removeItem(at: home.root) }
        let connection = try IntegrationEnvironment.connect()

        let unknownImage = try await IntegrationEnvironment.vmlab(["vm", "create", "nope", "--image", "no-such-image", "--accel", "tcg"], home: home)
        #expect(unknownImage.status == 66)
        #expect(unknownImage.stderr.contains("no built image named 'no-such-image'"))

        let unknownVM = try await IntegrationEnvironment.vmlab(["exec", "ghost", "--", "true"], home: home)
        #expect(unknownVM.status == 66)
        #expect(unknownVM.stderr.contains("no guest named 'ghost'"))

        let badName = try await IntegrationEnvironment.vmlab(["snapshot", "list", "ghost"], home: home)
        #expect(badName.status == 66)

        let daemonDown = try await IntegrationEnvironment.vmlab(["vm", "list", "--connect", "qemu+unix:///system?socket=/nonexistent/sock"], home: home)
        #expect(daemonDown.status == 69)
        #expect(daemonDown.stderr.contains("scripts/setup.sh"))

        let badRecipe = home.root.appendingPathComponent("broken.yaml")
        try "name: broken\npackages: [dash]\ninit: nothere\nsizee: 1G\n".write(to: badRecipe, atomically: true, encoding: .utf8)
        let recipe = try await IntegrationEnvironment.vmlab(["image", "build", badRecipe.path], home: home)
        #expect(recipe.status == 65)
        #expect(recipe.stderr.contains("broken.yaml:4: sizee: unknown key"))
        #expect(recipe.stderr.contains("init"))

        #expect(try IntegrationEnvironment.leftovers(connection, home: home).isEmpty)
    }

    /// Exit status of the command run in the guest becomes vmlab's; stdin is passed through.
    @Test func execThroughTheBinary() async throws {
        let home = try IntegrationEnvironment.makeHome()
        defer { try? FileManager.default.removeItem(at: home.root) }
        let connection = try IntegrationEnvironment.connect()
        let name = "itcli-\(getpid() % 100_000)"
        #expect(try await IntegrationEnvironment.vmlab(["image", "build", "base"], home: home).status == 0)
        let created = try await IntegrationEnvironment.vmlab(["vm", "create", name, "--memory", "384"], home: home)
        #expect(created.status == 0, "\(created.stderr)")
        defer { IntegrationEnvironment.vmlabSync(["vm", "rm", name], home: home) }

        let ok = try await IntegrationEnvironment.vmlab(["exec", name, "--", "sh", "-c", "echo out; echo err >&2; exit 5"], home: home)
        #expect(ok.status == 5)
        #expect(ok.stdout == "out\n")
        #expect(ok.stderr.contains("err"))
        // 1 MiB on stdin: more than one agent request carries, so it goes in as a file first.
        let piped = try SpawnedProcess(
            ["sh", "-c", "head -c 1048576 /dev/zero | tr '\\000' x | \"$0\" exec \(name) -- sh -c 'wc -c; ls /tmp'",
             IntegrationEnvironment.vmlabBinary.path],
            environment: try await IntegrationEnvironment.environment(home: home), scratch: home.root)
        #expect(try await piped.finish() == 0, "\(piped.stderr)")
        #expect(piped.stdout.hasPrefix("1048576\n"), "\(piped.stdout)")
        #expect(!piped.stdout.contains("vmlab-stdin"), "the staged input is removed: \(piped.stdout)")
        let list = try await IntegrationEnvironment.vmlab(["vm", "list", "--format", "json"], home: home)
        #expect(list.stdout.contains("\"state\" : \"running\""))

        #expect(try await IntegrationEnvironment.vmlab(["vm", "rm", name], home: home).status == 0)
        #expect(try IntegrationEnvironment.leftovers(connection, home: home).isEmpty)
    }
}
}

private func fileSize(_ url: URL) -> UInt64 {
    ((try? FileManager.default.attributesOfItem(atPath: url.path))?[.size] as? NSNumber)?.uint64Value ?? .max
}

/// Bytes read from a console on a reader thread, checked from the test.
private final class ConsoleCapture: @unchecked Sendable {
    private let lock = NSLock()
    private var bytes: [UInt8] = []
    func append(_ more: [UInt8]) { lock.withLock { bytes += more } }
    func contains(_ text: String) -> Bool {
        lock.withLock { String(decoding: bytes, as: UTF8.self).contains(text) }
    }
}
