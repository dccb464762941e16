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

    public init(name: String, bridge: String) {
        self.name = name
        self.bridge = bridge
    }

    public var xml: String {
        XMLTree("network", children: [
            XMLTree("name", text: name),
            XMLTree("bridge", ["name": bridge, "stp": "off", "delay": "0"]),
        ]).render()
    }
}
