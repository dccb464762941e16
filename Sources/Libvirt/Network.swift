internal import CLibvirt
import Foundation

/// A libvirt virtual network (for vmlab, an isolated bridge joining a lab's guests).
///
/// `@unchecked Sendable`: libvirt network handles are thread-safe, and this class
/// holds no mutable Swift state.
public final class Network: @unchecked Sendable {
    let handle: OpaquePointer
    /// The network's name, unique on its connection.
    public let name: String

    /// Takes ownership of one reference to a `virNetworkPtr`.
    init(taking handle: OpaquePointer) {
        self.handle = handle
        self.name = virNetworkGetName(handle).map { String(cString: $0) } ?? ""
    }

    deinit { virNetworkFree(handle) }

    /// Starts the defined network (creates its bridge).
    public func start() throws {
        try check(virNetworkCreate(handle), "virNetworkCreate")
    }

    /// Stops the network (removes its bridge); the definition stays.
    public func destroy() throws {
        try check(virNetworkDestroy(handle), "virNetworkDestroy")
    }

    /// Removes the persistent definition.
    public func undefine() throws {
        try check(virNetworkUndefine(handle), "virNetworkUndefine")
    }

    /// Whether the network is running.
    public func isActive() throws -> Bool {
        try check(virNetworkIsActive(handle), "virNetworkIsActive") == 1
    }

    /// The network's XML definition.
    public func xmlDescription() throws -> String {
        try takeString(check(virNetworkGetXMLDesc(handle, 0), "virNetworkGetXMLDesc"))
    }

    /// The host bridge device name (e.g. `virbr1`), to find guests' traffic on the host.
    public func bridgeName() throws -> String {
        try takeString(check(virNetworkGetBridgeName(handle), "virNetworkGetBridgeName"))
    }

    /// Whether libvirt starts the network when its daemon starts.
    public func setAutostart(_ on: Bool) throws {
        try check(virNetworkSetAutostart(handle, on ? 1 : 0), "virNetworkSetAutostart")
    }
}
