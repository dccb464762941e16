import Foundation
import LabStore
import Libvirt
import VMLabSupport

/// What this vmlab home made but has no record of (the store was lost, restored from a
/// backup, or edited; an instance lost with its pool host): domains and networks named
/// `vmlab-` whose `OwnerTag` names this home, the folders of lab instances and guests under
/// it, and on a pool host the volumes whose names carry this home's tag. Objects of other
/// homes on the same libvirtd, and objects without a tag, are never included.
public struct Orphans: Sendable {
    public let connection: Connection
    public let home: VMLabHome
    /// The host's vmlab pool when it is a pool host (`storage: pool`), else nil.
    public let volumes: HostVolumes?

    public init(connection: Connection, home: VMLabHome, volumes: HostVolumes? = nil) {
        self.connection = connection
        self.home = home
        self.volumes = volumes
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
        let tag = HostVolumes.homeTag(id)
        for name in try volumes?.instanceVolumes() ?? [] where !recorded.contains(name) {
            guard let instance = HostVolumes.instance(ofVolume: name, homeTag: tag) else { continue }
            found.append(Resource(kind: .volume, name: name, owner: "lab:" + instance))
        }
        return found
    }
}
