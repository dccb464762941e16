import Foundation
import LabModel
import LabStore
import VMLabSupport
import Yams

/// How guests execute: hardware virtualization (KVM) or QEMU's software emulation (TCG).
public enum Accelerator: String, Codable, Sendable, CaseIterable {
    case kvm, tcg

    /// The libvirt `<domain type=...>` for this accelerator.
    public var domainType: String { self == .kvm ? "kvm" : "qemu" }
}

/// The user's choice: `auto` proves KVM works before trusting it.
public enum AcceleratorSetting: String, Codable, Sendable, CaseIterable {
    case auto, kvm, tcg

    /// `--accel` flag, else `$VMLAB_ACCEL`, else `accel:` in `$VMLAB_HOME/config.yaml`, else auto.
    public static func resolve(flag: String?, home: VMLabHome,
                               environment: [String: String] = ProcessInfo.processInfo.environment) throws -> AcceleratorSetting {
        let (value, source): (String?, String) = if let flag { (flag, "--accel") }
            else if let env = environment["VMLAB_ACCEL"], !env.isEmpty { (env, "VMLAB_ACCEL") }
            else { (Self.configValue(home: home), "\(home.root.path)/config.yaml") }
        guard let value else { return .auto }
        guard let setting = AcceleratorSetting(rawValue: value.lowercased()) else {
            throw VMLabError(.invalidInput, "\(source): accelerator '\(value)' is not one of auto, kvm, tcg")
        }
        return setting
    }

    private static func configValue(home: VMLabHome) -> String? {
        let url = home.root.appendingPathComponent("config.yaml")
        guard let text = try? String(contentsOf: url, encoding: .utf8),
              let node = try? Yams.compose(yaml: text) else { return nil }
        return node["accel"]?.string
    }
}

/// The verdict of the KVM probe, cached per host kernel and /dev/kvm identity.
public struct AcceleratorVerdict: Codable, Sendable, Equatable {
    public var accelerator: Accelerator
    /// Why: "KVM guest reached userspace in 0.9 s", "KVM guest did not reach userspace within 15 s", ...
    public var reason: String
    /// The host identity the verdict holds for.
    public var hostKey: String
    public var probedAt: Date
}

/// Chooses the accelerator, proving KVM by booting a tiny probe guest under it.
/// `/dev/kvm` opening is not proof: on nested hosts KVM guests can hang in early boot.
public struct AcceleratorProbe: Sendable {
    public let home: VMLabHome
    public var timeout: Duration = .seconds(15)

    public init(home: VMLabHome) { self.home = home }

    /// The accelerator to use for `setting`; `auto` probes once and caches the verdict.
    public func choose(_ setting: AcceleratorSetting, progress: ProgressReporter = { _ in }) async throws -> AcceleratorVerdict {
        let key = Self.hostKey()
        switch setting {
        case .tcg:
            return AcceleratorVerdict(accelerator: .tcg, reason: "tcg chosen by setting", hostKey: key, probedAt: Date())
        case .kvm:
            guard Self.kvmOpens() else {
                throw VMLabError(.unavailable, "accelerator kvm was asked for but /dev/kvm cannot be opened; use --accel tcg or auto")
            }
            return AcceleratorVerdict(accelerator: .kvm, reason: "kvm chosen by setting", hostKey: key, probedAt: Date())
        case .auto:
            if let cached = cachedVerdict(), cached.hostKey == key { return cached }
            let verdict: AcceleratorVerdict
            if Self.kvmOpens() {
                progress("probing KVM: booting a test guest (at most \(timeout.components.seconds) s, once per host)")
                verdict = try await probeKVM(key: key)
            } else {
                verdict = AcceleratorVerdict(accelerator: .tcg, reason: "/dev/kvm cannot be opened", hostKey: key, probedAt: Date())
            }
            _ = try? home.ensure(home.cache)
            try? ImageStore.encoder.encode(verdict).write(to: cacheFile)
            return verdict
        }
    }

    var cacheFile: URL { home.cache.appendingPathComponent("accelerator.json") }

    public func cachedVerdict() -> AcceleratorVerdict? {
        guard let data = try? Data(contentsOf: cacheFile) else { return nil }
        return try? ImageStore.decoder.decode(AcceleratorVerdict.self, from: data)
    }

    /// Host kernel release plus /dev/kvm's device and inode: a new kernel or a new
    /// /dev/kvm (another machine) invalidates the verdict.
    static func hostKey() -> String {
        var uts = utsname()
        uname(&uts)
        let release = withUnsafeBytes(of: &uts.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        var st = stat()
        let kvm = stat("/dev/kvm", &st) == 0 ? "\(st.st_rdev):\(st.st_ino):\(st.st_ctim.tv_sec)" : "none"
        return "kernel=\(release) kvm=\(kvm)"
    }

    static func kvmOpens() -> Bool {
        let fd = open("/dev/kvm", O_RDWR | O_CLOEXEC)
        guard fd >= 0 else { return false }
        close(fd)
        return true
    }

    static let marker = "VMLAB-PROBE-USERSPACE"

    /// Boots the host kernel with a busybox initramfs under KVM and waits for its /init to print.
    private func probeKVM(key: String) async throws -> AcceleratorVerdict {
        let kernel = try HostKernel.find()
        guard FileManager.default.isExecutableFile(atPath: "/bin/busybox") else {
            throw VMLabError(.unavailable, "the KVM probe needs /bin/busybox; install busybox-static (scripts/setup.sh does) or set --accel tcg")
        }
        let dir = try home.ensure(home.cache)
        let initrd = dir.appendingPathComponent("probe-initrd.cpio")
        let script = "#!/bin/busybox sh\n/bin/busybox echo \(Self.marker)\n/bin/busybox poweroff -f\n"
        let archive = CPIOArchive(entries: [
            .directory("bin"), .directory("dev"),
            .characterDevice("dev/console", major: 5, minor: 1),
            .file("bin/busybox", contents: try Data(contentsOf: URL(fileURLWithPath: "/bin/busybox")), mode: 0o755),
            .file("init", contents: Data(script.utf8), mode: 0o755),
        ])
        try archive.encoded().write(to: initrd)

        let started = ContinuousClock.now
        // `timeout` ends the probe QEMU even when vmlab itself is killed mid-probe: a KVM
        // guest that hangs would otherwise spin on a core until someone notices.
        let limit = "\(timeout.components.seconds + 5)"
        let output = try await Subprocess.runUntil(
            marker: Self.marker,
            ["timeout", "--signal=KILL", limit, "qemu-system-x86_64", "-machine", "pc,accel=kvm", "-m", "256", "-nodefaults", "-no-user-config",
             "-nographic", "-serial", "stdio", "-monitor", "none", "-no-reboot",
             "-kernel", kernel.image.path, "-initrd", initrd.path,
             "-append", "console=ttyS0 quiet panic=-1 rdinit=/init"],
            timeout: timeout)
        let seconds = (ContinuousClock.now - started).seconds
        if output.found {
            return AcceleratorVerdict(accelerator: .kvm, reason: String(format: "a KVM guest reached userspace in %.1f s", seconds),
                                      hostKey: key, probedAt: Date())
        }
        let reason = output.exited
            ? "qemu under KVM exited before userspace: \(output.tail)"
            : "a KVM guest did not reach userspace within \(timeout.components.seconds) s (nested virtualization?)"
        return AcceleratorVerdict(accelerator: .tcg, reason: reason + "; using TCG", hostKey: key, probedAt: Date())
    }
}
