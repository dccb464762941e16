import Foundation
import LabModel
import LabStore
import VMLabSupport

/// An isolated lab network: a bridge with no `<forward>` and no `<ip>`, so guests reach
/// each other and nothing else (not the host, not the uplink). No DHCP: the runner gives
/// addresses through the agent.
public struct NetworkDefinition: Sendable, Equatable {
    public var name: String
    public var bridge: String
    /// Who made the network, kept in its metadata (see `OwnerTag`).
    public var owner: OwnerTag

    public init(name: String, bridge: String, owner: OwnerTag) {
        self.name = name
        self.bridge = bridge
        self.owner = owner
    }

    public var xml: String {
        XMLTree("network", children: [
            XMLTree("name", text: name),
            XMLTree("metadata", children: [owner.element]),
            XMLTree("bridge", ["name": bridge, "stp": "off", "delay": "0"]),
        ]).render()
    }
}
