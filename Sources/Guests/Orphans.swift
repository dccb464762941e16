import Foundation
import LabStore
import Libvirt
import VMLabSupport

/// What this vmlab home made but has no record of (the store was lost, restored from a
/// backup, or edited): domains and networks named `vmlab-` whose `OwnerTag` names this
/// home, and the folders of lab instances and guests under it. Objects of other homes on
/// the same libvirtd, and objects without a tag, are never included.
public struct Orphans: Sendable {
    public let connection: Connection
    public let home: VMLabHome

    public init(connection: Connection, home: VMLabHome) {
        self.connection = connection
        self.home = home
    }

    /// Each orphan as the record it should have had, with the owner its tag or folder names.
    public func find(recorded: Set<String>) throws -> [Resource] {
        let id = try home.identity()
        var found: [Resource] = []
        for domain in try connection.allDomains() where domain.name.hasPrefix(Naming.prefix) && !recorded.contains(domain.name) {
            guard let tag = OwnerTag(describedIn: try domain.xmlDescription(inactive: true)), tag.home == id else { continue }
            found.append(Resource(kind: .domain, name: domain.name, owner: tag.owner))
        }
        for network in try connection.allNetworks() where network.name.hasPrefix(Naming.prefix) && !recorded.contains(network.name) {
            guard let tag = OwnerTag(describedIn: try network.xmlDescription()), tag.home == id else { continue }
            found.append(Resource(kind: .network, name: network.name, owner: tag.owner))
        }
        let folders: [(URL, String, (String) -> Bool)] = [
            (home.instances, "lab:", Naming.isInstanceID), (home.guests, "guest:", Naming.isValidName),
        ]
        for (parent, ownerPrefix, isOwnerName) in folders {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: parent.path)) ?? []
            for name in names.sorted() where isOwnerName(name) {
                let path = parent.appendingPathComponent(name, isDirectory: true).path
                guard !recorded.contains(path) else { continue }
                found.append(Resource(kind: .directory, name: path, owner: ownerPrefix + name))
            }
        }
        return found
    }
}
