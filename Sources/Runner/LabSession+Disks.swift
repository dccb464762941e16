import Foundation
import Guests
import LabModel
import LabStore
import Libvirt
import VMLabSupport

/// The VMs a session froze and has not seen thawed. Every list of steps ends by thawing
/// them (on success, failure and cancellation alike): a guest is never left frozen.
final class FrozenGuests: @unchecked Sendable {
    // @unchecked: the set is only touched under `lock`.
    private let lock = NSLock()
    private var names: Set<String> = []

    func insert(_ vm: String) { lock.withLock { _ = names.insert(vm) } }
    func remove(_ vm: String) { lock.withLock { _ = names.remove(vm) } }
    func takeAll() -> [String] { lock.withLock { defer { names = [] }; return names.sorted() } }
}

extension LabRunner {
    /// Where the disk snapshot `name` of a VM's disk is kept.
    func diskSnapshotFile(_ instance: String, vm: String, snapshot: String, disk: String) throws -> URL {
        try requireSharedStorage("a disk snapshot (disk-snapshot, restore-disk)")
        return instanceDirectory(instance).appendingPathComponent("snapshots/\(vm)-\(snapshot)-\(disk).qcow2")
    }

    /// The file of a VM's disk (`root` is vda, the overlay on the image).
    func diskFile(_ instance: String, vm: String, disk: String) throws -> URL {
        try requireSharedStorage("reading a VM's disk file on the host")
        return instanceDirectory(instance).appendingPathComponent(disk == HostReading.rootDisk ? "\(vm).qcow2" : "\(vm)-\(disk).qcow2")
    }
}

extension LabSession {
    /// How long a disk copy may take before it is aborted.
    static let diskCopyTimeout = Duration.seconds(300)
    /// How long vmlab keeps asking a frozen guest to thaw before it powers it off.
    static let thawDeadline = Duration.seconds(60)

    /// The device (vdb, ...) of a VM's data disk, or `vda` for `root`.
    func diskTarget(_ vm: VMSpec, _ disk: String) throws -> String {
        if disk == HostReading.rootDisk { return "vda" }
        guard let index = vm.disks.firstIndex(where: { $0.name == disk }) else {
            throw VMLabError(.notFound, "VM \(vm.name) has no disk '\(disk)' (disks: \(([HostReading.rootDisk] + vm.disks.map(\.name)).joined(separator: ", ")))")
        }
        return LabRunner.diskTarget(index + 1)
    }

    /// Thaws every VM this session froze and did not thaw. Runs to the end even when the
    /// caller was cancelled; a guest that cannot be thawed within `thawDeadline` is powered
    /// off, so nothing stays frozen, and the error says so.
    func thawWhatWasFrozen() async throws {
        let names = frozen.takeAll()
        guard !names.isEmpty else { return }
        try await Task {
            var stuck: [String] = []
            for name in names {
                if try await self.ensureThawed(name, announce: true) == false { stuck.append(name) }
            }
            if !stuck.isEmpty {
                throw VMLabError(.failed, "\(stuck.joined(separator: ", ")) did not thaw within \(Self.thawDeadline.components.seconds) s "
                    + "and was powered off so that no guest stays frozen; look at its fsfreeze hooks")
            }
        }.value
    }

    /// Thaws one VM; powers it off when its agent cannot thaw it in time. True when it
    /// was thawed (or is not running), false when it had to be powered off.
    /// `announce`: say so on the progress line (a VM a step froze and no step thawed).
    func ensureThawed(_ vm: String, announce: Bool = false) async throws -> Bool {
        let domain = try self.domain(vm)
        guard try domain.isActive() else { return true }
        if try await agent(vm).ensureThawed(within: Self.thawDeadline) {
            if announce { runner.progress("\(lab.name): \(vm) thawed at the end of the steps") }
            return true
        }
        runner.progress("\(lab.name): \(vm) still frozen after \(Self.thawDeadline.components.seconds) s; powering it off")
        try await offPool { try domain.destroyIfActive() }
        return false
    }

    /// Freezes `vm`, runs `body`, and thaws it whatever happens (an error, a cancellation, a
    /// hook that timed out). Returns the body's result and the seconds the guest was frozen.
    func whileFrozen<T: Sendable>(_ vm: String, hookTimeout: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> (T, Double) {
        let agent = try self.agent(vm)
        frozen.insert(vm)
        let started = ContinuousClock.now
        let result: Result<T, any Error>
        do {
            _ = try await agent.freezeFilesystems(hookTimeout: hookTimeout)
            result = .success(try await body())
        } catch {
            result = .failure(error)
        }
        // Uncancelled: the thaw must happen even when the run was interrupted.
        let thawed = try await Task { try await self.ensureThawed(vm) }.value
        let seconds = (ContinuousClock.now - started).seconds
        frozen.remove(vm)
        guard thawed else {
            throw VMLabError(.failed, "\(vm) did not thaw within \(Self.thawDeadline.components.seconds) s and was powered off "
                + "so that it does not stay frozen; look at its fsfreeze hooks")
        }
        return (try result.get(), seconds)
    }

    /// Copies the named data disks of `vm` at one instant into the session's disk snapshot
    /// `name` (replacing an older one of that name). Each file is recorded before it exists.
    func snapshotDisks(_ vm: VMSpec, name: String, disks: [String], quiesce: Bool, hookTimeout: Duration) async throws -> Double {
        let domain = try self.domain(vm.name)
        var copies: [(target: String, file: String)] = []
        for disk in disks {
            let file = try runner.diskSnapshotFile(instance.id, vm: vm.name, snapshot: name, disk: disk)
            try runner.store.record(.file, file.path, owner: instance.owner)
            try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            if FileManager.default.fileExists(atPath: file.path) { try FileManager.default.removeItem(at: file) }
            copies.append((try diskTarget(vm, disk), file.path))
        }
        let all = ["vda"] + vm.disks.indices.map { LabRunner.diskTarget($0 + 1) }
        let xml = DiskBackupDefinition(copies: copies, allTargets: all).xml
        // The copy's instant is fixed once beginBackup returns: the guest may thaw then.
        var frozenSeconds = 0.0
        if quiesce {
            (_, frozenSeconds) = try await whileFrozen(vm.name, hookTimeout: hookTimeout) {
                try await offPool { try domain.beginBackup(xml: xml) }
            }
        } else {
            try await offPool { try domain.beginBackup(xml: xml) }
        }
        try await waitForCopy(domain, vm: vm.name, name: name)
        return frozenSeconds
    }

    /// Waits until the backup job has copied everything; aborts it after `diskCopyTimeout`.
    private func waitForCopy(_ domain: Domain, vm: String, name: String) async throws {
        let deadline = ContinuousClock.now + Self.diskCopyTimeout
        while try await offPool({ try domain.jobState() }) == .running {
            guard ContinuousClock.now < deadline else {
                try? await offPool { try domain.abortJob() }
                throw VMLabError(.timeout, "copying the disks of \(vm) for snapshot \(name) took longer than "
                    + "\(Self.diskCopyTimeout.components.seconds) s and was aborted")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        switch try await offPool({ try domain.jobState(completed: true) }) {
        case .completed, .none: return
        case .failed(let message):
            throw VMLabError(.failed, "copying the disks of \(vm) for snapshot \(name) failed: \(message ?? "libvirt gave no reason")")
        case .cancelled:
            throw VMLabError(.failed, "copying the disks of \(vm) for snapshot \(name) was cancelled")
        case .running:
            throw VMLabError(.failed, "copying the disks of \(vm) for snapshot \(name) did not finish")
        }
    }

    /// Powers `into` off and writes the snapshot's copies of `disks` over the same disks of it.
    func restoreDisks(from: String, snapshot: String, disks: [String], into: String) async throws {
        let target = try spec(into)
        let domain = try self.domain(into)
        // Checked before anything is overwritten.
        for disk in disks {
            _ = try diskTarget(target, disk)
            let source = try runner.diskSnapshotFile(instance.id, vm: from, snapshot: snapshot, disk: disk)
            guard FileManager.default.fileExists(atPath: source.path) else {
                throw VMLabError(.notFound, "\(from) has no disk snapshot '\(snapshot)' of disk \(disk); take it with a "
                    + "`disk-snapshot` step earlier in the run")
            }
        }
        try await offPool { try domain.destroyIfActive() }
        for disk in disks {
            let source = try runner.diskSnapshotFile(instance.id, vm: from, snapshot: snapshot, disk: disk)
            let destination = try runner.diskFile(instance.id, vm: into, disk: disk)
            // -n writes into the existing image: its internal baseline snapshot stays, so the
            // next run's revert still finds it.
            _ = try await offPool {
                try Subprocess.runBlocking(["qemu-img", "convert", "-n", "-f", "qcow2", "-O", "qcow2", source.path, destination.path])
            }
        }
    }

    /// One host-side reading (a fixed list: never a command).
    func hostReading(_ reading: HostReading, vm: String?, disk: String?) async throws -> Double {
        let mib = 1024.0 * 1024.0
        switch reading {
        case .hostCached: return Double(try HostMemInfo.bytes("Cached")) / mib
        case .hostDirty: return Double(try HostMemInfo.bytes("Dirty")) / mib
        case .hostWriteback: return Double(try HostMemInfo.bytes("Writeback")) / mib
        default: break
        }
        guard let vm else { throw VMLabError(.invalidInput, "host reading \(reading.rawValue) needs a vm") }
        let spec = try self.spec(vm)
        let domain = try self.domain(vm)
        switch reading {
        case .pageCache, .readMiB, .writeMiB, .flushes:
            guard let disk else { throw VMLabError(.invalidInput, "host reading \(reading.rawValue) needs a disk") }
            let target = try diskTarget(spec, disk)
            if reading == .pageCache {
                let file = try runner.diskFile(instance.id, vm: vm, disk: disk).path
                return Double(try await offPool { try PageCache.residentBytes(file) }) / mib
            }
            let stats = try await offPool { try domain.blockStats(target) }
            switch reading {
            case .readMiB: return Double(stats.readBytes) / mib
            case .writeMiB: return Double(stats.writeBytes) / mib
            default: return Double(stats.flushRequests)
            }
        default:
            let stats = try await offPool { try domain.memoryStats() }
            let key: MemoryStat = switch reading {
            case .guestDiskCaches: .diskCaches
            case .guestUnused: .unused
            default: .rss
            }
            guard let kib = stats[key] else {
                throw VMLabError(.unavailable, "libvirt reports no \(reading.rawValue) for \(vm) (the guest's balloon driver "
                    + "sends statistics every 2 s; measure again later in the run)")
            }
            return Double(kib) / 1024
        }
    }
}
