import Foundation
import LabModel
import LabStore
import Libvirt
import VMLabSupport

/// Removes recorded resources (newest first) and forgets each once it is gone. Used by
/// teardown, by rollback of a failed create, and by `vmlab gc`.
public struct Cleanup: Sendable {
    public let store: Store
    public let connection: Connection

    public init(store: Store, connection: Connection) {
        self.store = store
        self.connection = connection
    }

    /// Removes everything one owner created.
    public func remove(owner: String) throws {
        try remove(try store.resources(owner: owner))
    }

    /// Removes the given resources; keeps going past failures and reports them together.
    /// A record goes only once its object is proven gone. When an owner's domain or network
    /// could not be removed (libvirtd down, say), its files stay too: a running QEMU may
    /// still have them open, and `gc` must still find them.
    public func remove(_ resources: [Resource]) throws {
        var failures: [String] = []
        var blockedOwners: Set<String> = []
        // Domains first (they hold the disks open), then networks, then volumes, files, directories.
        let order: [Resource.Kind] = [.domain, .network, .volume, .file, .directory]
        for kind in order {
            for resource in resources where resource.kind == kind {
                if kind == .file || kind == .directory || kind == .volume, blockedOwners.contains(resource.owner) {
                    failures.append("\(resource.kind.rawValue) \(resource.name): kept, because a VM or network of "
                                    + "\(resource.owner) could not be removed")
                    continue
                }
                do {
                    try removeOne(resource)
                    try store.forget(resource.kind, resource.name)
                } catch {
                    if kind == .domain || kind == .network { blockedOwners.insert(resource.owner) }
                    failures.append("\(resource.kind.rawValue) \(resource.name): \(error)")
                }
            }
        }
        if !failures.isEmpty {
            throw VMLabError(.failed, "could not remove everything; run `vmlab gc` again after fixing:\n  "
                + failures.joined(separator: "\n  "))
        }
    }

    private func removeOne(_ resource: Resource) throws {
        let fm = FileManager.default
        switch resource.kind {
        case .domain:
            guard let domain = try connection.lookupDomain(named: resource.name) else { return }
            try domain.destroyIfActive()
            try domain.undefine()
        case .network:
            guard let network = try connection.lookupNetwork(named: resource.name) else { return }
            if try network.isActive() { try network.destroy() }
            try network.undefine()
        case .volume:
            guard let pool = try connection.lookupStoragePool(named: HostStorage.poolName) else { return }
            if try !pool.isActive() { try pool.start() }
            if HostVolumes.isConsoleLog(resource.name) {
                // virtlogd made it, unknown to libvirt's pool until a rescan.
                try HostVolumes(connection: connection, path: HostStorage.defaultPoolPath).deleteConsoleLog(named: resource.name, in: pool)
            } else {
                try pool.lookupVolume(named: resource.name)?.delete()
            }
        case .file:
            if fm.fileExists(atPath: resource.name) { try fm.removeItem(atPath: resource.name) }
        case .directory:
            if fm.fileExists(atPath: resource.name) { try fm.removeItem(atPath: resource.name) }
        }
    }
}
