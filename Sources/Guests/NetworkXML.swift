import Foundation
import LabModel
import LabStore
import VMLabSupport

/// The libvirt definition of a lab network. Whatever the kind, the bridge lives in
/// libvirtd's network namespace, which has no route off the machine.
/// - isolated: no `<forward>`, no `<ip>`: guests reach each other and nothing else (not
///   the host, not the uplink). No DHCP: the runner gives addresses through the agent.
/// - outside: forward mode `open` with an `<ip>`: the namespace routes to it, and libvirt
///   adds no firewall rules (mode `route` or no forward would add rules rejecting the
///   translated traffic that NAT networks send into it).
/// - nat: forward mode `nat` with `dev` = the outside bridge: libvirt masquerades the
///   subnet towards that bridge only, and rejects what arrives unasked.
/// No kind runs dnsmasq (`<dns enable='no'/>`, no `<dhcp>`): nothing listens on a bridge.
public struct NetworkDefinition: Sendable, Equatable {
    public enum Mode: Sendable, Equatable {
        case isolated
        case outside(address: IPv4Network)
        /// `outsideBridge`: the bridge device of the outside network it translates to.
        case nat(address: IPv4Network, outsideBridge: String)
    }

    public var name: String
    public var bridge: String
    /// Who made the network, kept in its metadata (see `OwnerTag`).
    public var owner: OwnerTag
    public var mode: Mode

    public init(name: String, bridge: String, owner: OwnerTag, mode: Mode = .isolated) {
        self.name = name
        self.bridge = bridge
        self.owner = owner
        self.mode = mode
    }

    public var xml: String {
        var children = [
            XMLTree("name", text: name),
            XMLTree("metadata", children: [owner.element]),
            XMLTree("bridge", ["name": bridge, "stp": "off", "delay": "0"]),
        ]
        func ip(_ address: IPv4Network) -> XMLTree {
            XMLTree("ip", ["address": address.host, "prefix": "\(address.prefixLength)"])
        }
        switch mode {
        case .isolated:
            break
        case .outside(let address):
            children.insert(XMLTree("forward", ["mode": "open"]), at: 2)
            children += [XMLTree("dns", ["enable": "no"]), ip(address)]
        case .nat(let address, let outsideBridge):
            children.insert(XMLTree("forward", ["mode": "nat", "dev": outsideBridge], children: [
                XMLTree("nat", children: [XMLTree("port", ["start": "1024", "end": "65535"])]),
            ]), at: 2)
            children += [XMLTree("dns", ["enable": "no"]), ip(address)]
        }
        return XMLTree("network", children: children).render()
    }
}
