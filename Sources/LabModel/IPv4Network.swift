/// An IPv4 address with its prefix length, `198.18.10.1/24`: a bridge's address on a NAT
/// or outside network, or a guest NIC's. Lab checks need the subnet arithmetic (is a
/// guest on its network's subnet, do two networks overlap).
public struct IPv4Network: Sendable, Equatable, CustomStringConvertible {
    /// The address as written (host bits kept).
    public var address: UInt32
    public var prefixLength: Int

    /// nil unless `cidr` is four decimal octets, a slash and a prefix length 0...32.
    public init?(_ cidr: String) {
        guard isIPv4CIDR(cidr) else { return nil }
        let parts = cidr.split(separator: "/")
        address = parts[0].split(separator: ".").reduce(UInt32(0)) { $0 << 8 | UInt32($1)! }
        prefixLength = Int(parts[1])!
    }

    public var mask: UInt32 { prefixLength == 0 ? 0 : UInt32.max << (32 - prefixLength) }
    /// The network address (host bits cleared).
    public var networkAddress: UInt32 { address & mask }
    public var isNetworkAddress: Bool { address == networkAddress }
    public var isBroadcastAddress: Bool { prefixLength < 31 && address == networkAddress | ~mask }

    public func contains(_ other: IPv4Network) -> Bool { other.address & mask == networkAddress }
    public func overlaps(_ other: IPv4Network) -> Bool {
        let shorter = min(prefixLength, other.prefixLength)
        let common = shorter == 0 ? 0 : UInt32.max << (32 - shorter)
        return address & common == other.address & common
    }

    /// `198.18.10.1`
    public var host: String { Self.dotted(address) }
    /// `198.18.10.0/24`: what a route to this network names.
    public var subnet: String { "\(Self.dotted(networkAddress))/\(prefixLength)" }
    public var description: String { "\(host)/\(prefixLength)" }

    static func dotted(_ a: UInt32) -> String { "\(a >> 24).\(a >> 16 & 255).\(a >> 8 & 255).\(a & 255)" }
}
