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
    public func remove(_ resources: [Resource]) throws {
        var failures: [String] = []
        // Domains first (they hold the disks open), then networks, then files, then directories.
        let order: [Resource.Kind] = [.domain, .network, .file, .directory]
        for kind in order {
            for resource in resources where resource.kind == kind {
                do {
                    try removeOne(resource)
                    try store.forget(resource.kind, resource.name)
                } catch {
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
            guard let domain = connection.lookupDomain(named: resource.name) else { return }
            if try domain.isActive() { try domain.destroy() }
            try domain.undefine()
        case .network:
            guard let network = connection.lookupNetwork(named: resource.name) else { return }
            if try network.isActive() { try network.destroy() }
            try network.undefine()
        case .file:
            if fm.fileExists(atPath: resource.name) { try fm.removeItem(atPath: resource.name) }
        case .directory:
            if fm.fileExists(atPath: resource.name) { try fm.removeItem(atPath: resource.name) }
        }
    }
}
