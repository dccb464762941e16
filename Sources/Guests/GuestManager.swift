import Foundation
import LabModel
import LabStore
import Libvirt
import VMLabSupport

/// What a person sees of a guest: its record and what libvirt says about it now.
public struct GuestStatus: Sendable {
    public let record: GuestRecord
    /// running, shut off, paused, crashed, ... or "missing" when libvirt has no such domain.
    public let state: String
    public let memoryMiB: Int?
    public let vcpus: Int?
    public let snapshots: [String]
}

/// Stand-alone guests: a qcow2 overlay on a built image plus a libvirt domain.
/// Every file and domain is recorded in the store before it is created.
public struct GuestManager: Sendable {
    public let home: VMLabHome
    public let store: Store
    public let connection: Connection
    public var bootTimeout: Duration = .seconds(180)
    public var progress: ProgressReporter

    public init(home: VMLabHome, store: Store, connection: Connection, progress: @escaping ProgressReporter = { _ in }) {
        self.home = home
        self.store = store
        self.connection = connection
        self.progress = progress
    }

    /// Connects to libvirt at `uri` (see `LibvirtHost.uri`).
    public init(home: VMLabHome, store: Store, uri: String, progress: @escaping ProgressReporter = { _ in }) throws {
        self.init(home: home, store: store, connection: try LibvirtHost.connect(uri), progress: progress)
    }

    // MARK: lifecycle

    /// Creates the overlay and defines the domain; does not start it.
    @discardableResult
    public func create(name: String, image: BuiltImage, accelerator: Accelerator,
                       memoryMiB: Int = 512, vcpus: Int = 1) throws -> GuestRecord {
        guard Naming.isValidName(name) else {
            throw VMLabError(.invalidInput, "guest name '\(name)' must be lowercase letters, digits and dashes, starting with a letter (at most 40)")
        }
        let lock = try lock(name)
        defer { withExtendedLifetime(lock) {} }
        guard (64...65536).contains(memoryMiB) else {
            throw VMLabError(.invalidInput, "guest '\(name)': \(memoryMiB) MiB of memory is out of range 64...65536")
        }
        guard (1...64).contains(vcpus) else { throw VMLabError(.invalidInput, "guest '\(name)': \(vcpus) vCPUs is out of range 1...64") }
        if try store.guest(named: name) != nil {
            throw VMLabError(.alreadyExists, "a guest named '\(name)' already exists; remove it with `vmlab vm rm \(name)` or pick another name")
        }
        let domainName = Naming.guestDomain(name)
        if try connection.lookupDomain(named: domainName) != nil {
            throw VMLabError(.alreadyExists, "libvirt already has a domain \(domainName) that vmlab did not record; "
                + "remove it with `virsh undefine \(domainName)` if it is stale")
        }
        let dir = home.guests.appendingPathComponent(name, isDirectory: true)
        let disk = dir.appendingPathComponent("disk.qcow2")
        let owner = "guest:\(name)"
        let definition = DomainDefinition(
            name: domainName, accelerator: accelerator, memoryMiB: memoryMiB, vcpus: vcpus,
            kernel: image.kernel.path, initrd: image.initrd.path,
            kernelArguments: Self.kernelArguments(hostname: name, extra: image.manifest.kernelArguments),
            disks: [.init(path: disk.path, target: "vda")], owner: OwnerTag(owner: owner, home: try home.identity()))

        do {
            try store.record(.directory, dir.path, owner: owner)
            try store.record(.file, disk.path, owner: owner)
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            try Overlay.create(disk, backing: image.disk)
            try store.record(.domain, domainName, owner: owner)
            _ = try connection.defineDomain(xml: definition.xml)
            let record = GuestRecord(name: name, imageName: image.manifest.name, imageDigest: image.manifest.digest,
                                     domain: domainName, disk: disk.path, createdAt: Date())
            try store.insertGuest(record)
            return record
        } catch {
            // Nothing half-created stays behind.
            try? Cleanup(store: store, connection: connection).remove(owner: owner)
            throw error as? VMLabError ?? VMLabError(.failed, "could not create guest '\(name)'", cause: error)
        }
    }

    /// Starts the guest and waits for its agent.
    public func start(_ name: String, wait: Bool = true) async throws {
        let lock = try lock(name)
        defer { withExtendedLifetime(lock) {} }
        let domain = try self.domain(name)
        if try domain.isActive() {
            throw VMLabError(.invalidState, "guest '\(name)' is already running")
        }
        do { try await offPool { try domain.start() } } catch {
            throw VMLabError(.failed, "libvirt could not start guest '\(name)'", cause: error)
        }
        if wait {
            progress("\(name): booting, waiting for the guest agent")
            let started = ContinuousClock.now
            try await agent(name, domain: domain).waitUntilReady(timeout: bootTimeout)
            progress(String(format: "\(name): agent answered after %.1f s", (ContinuousClock.now - started).seconds))
        }
    }

    /// Asks the guest to power off (through its agent) and waits; forces it off after `timeout`.
    public func stop(_ name: String, timeout: Duration = .seconds(30)) async throws {
        let lock = try lock(name)
        defer { withExtendedLifetime(lock) {} }
        let domain = try self.domain(name)
        guard try domain.isActive() else { throw VMLabError(.invalidState, "guest '\(name)' is not running") }
        do {
            if try await domain.shutDownAndWait(timeout: timeout) { return }
            progress("\(name): did not power off within \(timeout.components.seconds) s; forcing it off")
        } catch {
            progress("\(name): the power-off request failed (\(error)); forcing it off")
        }
        try await offPool { try domain.destroy() }
    }

    /// Pulls the plug: the guest stops at once, nothing is flushed (a forced crash).
    public func destroy(_ name: String) throws {
        let lock = try lock(name)
        defer { withExtendedLifetime(lock) {} }
        let domain = try self.domain(name)
        guard try domain.isActive() else { throw VMLabError(.invalidState, "guest '\(name)' is not running") }
        try domain.destroy()
    }

    /// Removes the guest: domain (with its snapshots), overlay and records.
    public func remove(_ name: String) throws {
        let lock = try lock(name)
        defer { withExtendedLifetime(lock) {} }
        guard try store.guest(named: name) != nil else { throw notFound(name) }
        try Cleanup(store: store, connection: connection).remove(owner: "guest:\(name)")
        try store.deleteGuest(named: name)
    }

    public func list() throws -> [GuestStatus] {
        try store.guests().map(status)
    }

    public func status(_ record: GuestRecord) throws -> GuestStatus {
        guard let domain = try connection.lookupDomain(named: record.domain) else {
            return GuestStatus(record: record, state: "missing", memoryMiB: nil, vcpus: nil, snapshots: [])
        }
        let info = try domain.info()
        return GuestStatus(record: record, state: info.state.label, memoryMiB: Int(info.maxMemoryKiB / 1024),
                           vcpus: info.vcpus, snapshots: try domain.snapshots().map(\.name))
    }

    // MARK: inside the guest

    /// The agent client of a running guest.
    public func agent(_ name: String) throws -> GuestAgent {
        let domain = try self.domain(name)
        guard try domain.isActive() else {
            throw VMLabError(.invalidState, "guest '\(name)' is not running; start it with `vmlab vm start \(name)`")
        }
        return agent(name, domain: domain)
    }

    func agent(_ name: String, domain: Domain) -> GuestAgent {
        GuestAgent(guest: name, transport: LibvirtAgentTransport(domain: domain))
    }

    /// Opens the guest's serial console.
    public func console(_ name: String) throws -> GuestConsole {
        let domain = try self.domain(name)
        guard try domain.isActive() else {
            throw VMLabError(.invalidState, "guest '\(name)' is not running; start it with `vmlab vm start \(name)`")
        }
        return GuestConsole(stream: try domain.openConsole())
    }

    // MARK: snapshots

    /// Takes an internal snapshot (disk and, when running, memory).
    public func snapshot(_ name: String, as snapshotName: String) throws {
        guard Naming.isValidName(snapshotName) else {
            throw VMLabError(.invalidInput, "snapshot name '\(snapshotName)' must be lowercase letters, digits and dashes")
        }
        let lock = try lock(name)
        defer { withExtendedLifetime(lock) {} }
        let domain = try self.domain(name)
        if (try? domain.snapshot(named: snapshotName)) != nil {
            throw VMLabError(.alreadyExists, "guest '\(name)' already has a snapshot '\(snapshotName)'")
        }
        do { _ = try domain.createSnapshot(name: snapshotName, atomic: true) } catch {
            throw VMLabError(.failed, "could not snapshot guest '\(name)'", cause: error)
        }
    }

    /// Reverts to a snapshot; waits for the agent when the snapshot was of a running guest.
    public func revert(_ name: String, to snapshotName: String, wait: Bool = true) async throws {
        let lock = try lock(name)
        defer { withExtendedLifetime(lock) {} }
        let domain = try self.domain(name)
        let snapshot: Snapshot
        do { snapshot = try domain.snapshot(named: snapshotName) } catch {
            let known = (try? domain.snapshots().map(\.name)) ?? []
            throw VMLabError(.notFound, "guest '\(name)' has no snapshot '\(snapshotName)'"
                + (known.isEmpty ? "" : " (it has: \(known.joined(separator: ", ")))"))
        }
        do { try await offPool { try domain.revert(to: snapshot) } } catch {
            throw VMLabError(.failed, "could not revert guest '\(name)' to '\(snapshotName)'", cause: error)
        }
        if wait, try domain.isActive() {
            try await agent(name, domain: domain).waitUntilReady(timeout: bootTimeout)
        }
    }

    public func snapshots(_ name: String) throws -> [(name: String, created: Date?)] {
        try domain(name).snapshots().map { ($0.name, try? $0.creationTime()) }
    }

    public func deleteSnapshot(_ name: String, _ snapshotName: String) throws {
        let lock = try lock(name)
        defer { withExtendedLifetime(lock) {} }
        try domain(name).snapshot(named: snapshotName).delete()
    }

    // MARK: helpers

    /// One writer per guest: a second process changing it gets `busy`.
    func lock(_ name: String) throws -> OwnerLock {
        try OwnerLock.acquire(Naming.lock(owner: "guest:\(name)")!, in: home.locks, what: "guest \(name)")
    }

    func domain(_ name: String) throws -> Domain {
        guard let record = try store.guest(named: name) else { throw notFound(name) }
        guard let domain = try connection.lookupDomain(named: record.domain) else {
            throw VMLabError(.notFound, "guest '\(name)' is recorded but libvirt has no domain \(record.domain); remove it with `vmlab vm rm \(name)`")
        }
        return domain
    }

    func notFound(_ name: String) -> VMLabError {
        let known = (try? store.guests().map(\.name)) ?? []
        return VMLabError(.notFound, "no guest named '\(name)'"
            + (known.isEmpty ? "; create one with `vmlab vm create \(name) --image base`" : " (guests: \(known.joined(separator: ", ")))"))
    }

    /// The kernel command line of every vmlab guest: root on the overlay, serial console,
    /// quiet boot (serial output is slow under TCG) and the guest's hostname. `acpi=noirq`
    /// routes PCI interrupts from the BIOS table instead of interpreting ACPI code for each
    /// virtio device the initrd probes (about 0.7 s per device under TCG). What changes what
    /// a lab measures (side-channel mitigations) is the image recipe's `kernel-args`.
    public static func kernelArguments(hostname: String, extra: String) -> String {
        ["root=/dev/vda rw console=ttyS0 quiet acpi=noirq", "vmlab.hostname=\(hostname)", extra]
            .filter { !$0.isEmpty }.joined(separator: " ")
    }
}

extension DomainState {
    /// How a person says it.
    public var label: String {
        switch self {
        case .noState: "no state"
        case .running: "running"
        case .blocked: "blocked"
        case .paused: "paused"
        case .shuttingDown: "shutting down"
        case .shutOff: "shut off"
        case .crashed: "crashed"
        case .suspended: "suspended"
        case .unknown(let n): "unknown (\(n))"
        }
    }
}

/// qcow2 copy-on-write overlays on a read-only base image.
package enum Overlay {
    package static func create(_ url: URL, backing: URL) throws {
        try Subprocess.runBlocking(["qemu-img", "create", "-q", "-f", "qcow2", "-b", backing.path, "-F", "qcow2", url.path])
    }
}
