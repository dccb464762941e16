import Foundation
import Guestfs
import LabModel
import LabStore
import Libvirt
import VMLabSupport

/// A checklist of what a host needs to run labs, each item with what to do about it.
public struct Doctor: Sendable {
    public enum Status: String, Codable, Sendable { case ok, warn, fail }

    public struct Check: Codable, Sendable {
        public let name: String
        public let status: Status
        public let detail: String
        /// What to do when the status is not ok.
        public let fix: String?
    }

    public let home: VMLabHome
    public let uri: String
    public let accelerator: AcceleratorSetting
    public var checkGuestfs = true

    public init(home: VMLabHome, uri: String, accelerator: AcceleratorSetting) {
        self.home = home
        self.uri = uri
        self.accelerator = accelerator
    }

    /// Runs every check; `report` sees each as it finishes.
    public func run(report: @Sendable (Check) -> Void = { _ in }) async -> [Check] {
        var checks: [Check] = []
        func add(_ c: Check) { checks.append(c); report(c) }

        do {
            let connection = try LibvirtHost.connect(uri)
            let version = try connection.libvirtVersion()
            add(Check(name: "libvirt", status: .ok,
                      detail: "\(uri) answers (libvirt \(version / 1_000_000).\(version / 1000 % 1000).\(version % 1000))", fix: nil))
        } catch {
            add(Check(name: "libvirt", status: .fail, detail: "\(uri) does not answer",
                      fix: "start libvirtd: `sudo scripts/setup.sh` (installs packages, starts libvirtd in the vmlab network namespace)"))
        }

        var verdict: AcceleratorVerdict?
        do {
            verdict = try await AcceleratorProbe(home: home).choose(accelerator)
            add(Check(name: "accelerator", status: verdict!.accelerator == .kvm ? .ok : .warn,
                      detail: "\(verdict!.accelerator.rawValue): \(verdict!.reason)",
                      fix: verdict!.accelerator == .kvm ? nil : "labs run under TCG (slower); on bare metal with VT-x/AMD-V, KVM is used"))
        } catch {
            add(Check(name: "accelerator", status: .fail, detail: "\(error)", fix: "use --accel tcg"))
        }

        do {
            let kernel = try HostKernel.find()
            add(Check(name: "guest kernel", status: .ok, detail: "\(kernel.image.path) (\(kernel.release))", fix: nil))
        } catch {
            add(Check(name: "guest kernel", status: .fail, detail: "\(error)", fix: "apt-get install linux-image-amd64"))
        }

        for (tool, package) in [("supermin", "supermin"), ("qemu-img", "qemu-utils"),
                                ("qemu-system-x86_64", "qemu-system-x86")] {
            let path = Subprocess.which(tool)
            add(Check(name: tool, status: path == nil ? .fail : .ok, detail: path ?? "not installed",
                      fix: path == nil ? "apt-get install \(package)" : nil))
        }

        if checkGuestfs {
            add(guestfsCheck(softwareOnly: verdict?.accelerator != .kvm))
        }

        let disk = freeBytes(at: home.root)
        add(Check(name: "disk", status: disk < 2 << 30 ? .fail : disk < 8 << 30 ? .warn : .ok,
                  detail: "\(disk >> 30) GiB free for \(home.root.path)",
                  fix: disk < 8 << 30 ? "an image takes ~0.6 GiB and each guest grows its overlay; free some space or set VMLAB_HOME" : nil))

        let memory = availableMemoryBytes()
        add(Check(name: "memory", status: memory < 1 << 30 ? .fail : memory < 4 << 30 ? .warn : .ok,
                  detail: "\(memory >> 20) MiB available", fix: memory < 4 << 30 ? "a lab needs 512 MiB per guest" : nil))

        let ksm = FileManager.default.fileExists(atPath: "/sys/kernel/mm/ksm/run")
        add(Check(name: "ksm", status: ksm ? .ok : .warn,
                  detail: ksm ? "same-page merging available" : "/sys/kernel/mm/ksm missing",
                  fix: ksm ? nil : "the page-merging experiments need a kernel with CONFIG_KSM"))
        return checks
    }

    private func guestfsCheck(softwareOnly: Bool) -> Check {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("vmlab-doctor-\(getpid()).img")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let started = Date()
        do {
            _ = FileManager.default.createFile(atPath: scratch.path, contents: nil)
            let handle = try FileHandle(forWritingTo: scratch)
            try handle.truncate(atOffset: 16 << 20)
            try handle.close()
            let image = try GuestImage(disks: [.init(path: scratch.path, format: "raw", readOnly: true)],
                                       accelerator: softwareOnly ? .softwareOnly : .automatic)
            _ = try image.listDevices()
            image.close()
            return Check(name: "libguestfs", status: .ok,
                         detail: String(format: "appliance launched in %.1f s", Date().timeIntervalSince(started)), fix: nil)
        } catch {
            return Check(name: "libguestfs", status: .fail, detail: "\(error)",
                         fix: "apt-get install libguestfs-tools linux-image-amd64; `libguestfs-test-tool` shows details")
        }
    }

    private func freeBytes(at url: URL) -> UInt64 {
        var probe = url
        while !FileManager.default.fileExists(atPath: probe.path) { probe.deleteLastPathComponent() }
        let attrs = try? FileManager.default.attributesOfFileSystem(forPath: probe.path)
        return (attrs?[.systemFreeSize] as? NSNumber)?.uint64Value ?? 0
    }

    private func availableMemoryBytes() -> UInt64 {
        guard let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix("MemAvailable:") {
            let kib = line.split(separator: " ").dropFirst().first.flatMap { UInt64($0) } ?? 0
            return kib * 1024
        }
        return 0
    }
}
