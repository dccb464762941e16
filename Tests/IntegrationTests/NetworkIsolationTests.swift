import Foundation
import Grading
import Guests
import LabModel
import LabStore
import Libvirt
import Results
import Runner
import Testing
import VMLabSupport

extension RealHost {
/// Lab traffic never leaves its lab network: checked on a real net-attack instance (three
/// guests on one isolated network) from the libvirt side, the host side and from inside a
/// guest that does its best to get out. The only off-network destinations used are
/// 192.0.2.1 (TEST-NET-1, reserved for documentation and never routed) and the lab
/// namespace's own addresses; nothing is ever sent towards a real outside address.
@Suite(.serialized)
struct NetworkIsolationTests {
    /// The network namespace libvirtd runs in (scripts/setup.sh).
    static let namespace = ProcessInfo.processInfo.environment["VMLAB_NETNS"] ?? "vmlab"
    static let lab = "net-attack"
    static let offNetwork = "192.0.2.1"

    @Test func guestCannotReachAnythingOffItsLabNetwork() async throws {
        let home = try IntegrationEnvironment.makeHome()
        defer { try? FileManager.default.removeItem(at: home.root) }
        let connection = try IntegrationEnvironment.connect()
        func vmlab(_ args: [String]) async throws -> (status: Int32, stdout: String, stderr: String) {
            try await IntegrationEnvironment.vmlab(args, home: home)
        }
        /// A shell command in a lab guest; returns its exit status and output.
        func guest(_ vm: String, _ command: String) async throws -> (status: Int32, output: String) {
            let r = try await vmlab(["exec", Self.lab, vm, "--", "sh", "-c", command])
            return (r.status, r.stdout + r.stderr)
        }

        let started = try await vmlab(["lab", "start", Self.lab, "--student", "isolation"])
        try #require(started.status == 0, "lab start failed: \(started.stderr)")
        defer { IntegrationEnvironment.vmlabSync(["lab", "stop", Self.lab], home: home) }
        let instance = try #require(try Store(home: home).activeInstances(lab: Self.lab).first)

        // libvirt: the lab's one network forwards nowhere and gives the host no address.
        let networks = try connection.allNetworks().filter { $0.name == Naming.labNetwork(instance: instance.slot, network: "lab") }
        let network = try #require(networks.first, "the lab network of instance \(instance.id) exists")
        let xml = try network.xmlDescription()
        #expect(!xml.contains("<forward"), "a lab network must not forward: \(xml)")
        #expect(!xml.contains("<ip"), "a lab network must not give the host an address: \(xml)")
        let bridge = try network.bridgeName()

        // Host side (inside libvirtd's namespace): the bridge has no IPv4 or global IPv6
        // address, and its only ports are the taps of this lab's three guests.
        let addresses = try await ip(["-o", "addr", "show", "dev", bridge])
        #expect(!addresses.contains(" inet "), "the bridge \(bridge) has an IPv4 address: \(addresses)")
        #expect(!addresses.contains("scope global"), "the bridge \(bridge) has a global address: \(addresses)")
        let ports = try await ip(["-o", "link", "show", "master", bridge]).split(separator: "\n")
            .compactMap { line in line.split(separator: ":").dropFirst().first.map { $0.trimmingCharacters(in: .whitespaces) } }
            .map { $0.split(separator: "@").first.map(String.init) ?? $0 }
        let taps = try connection.allDomains().filter { $0.name.contains("-\(instance.slot)-") }
            .flatMap { Self.targetDevices(try $0.xmlDescription()) }
        #expect(taps.count == 3, "three guests, one NIC each: \(taps)")
        #expect(Set(ports) == Set(taps), "bridge ports \(ports) are exactly the guests' taps \(taps): no uplink, no veth")

        // From a guest: its lab neighbour answers (so the probes below could succeed)...
        let neighbour = try await guest("attacker", "ping -c 2 -W 2 198.18.0.20")
        #expect(neighbour.status == 0, "attacker reaches the victim on the lab network: \(neighbour.output)")

        // ...but nothing off the network does, even once the guest routes everything out of
        // its lab NIC, on-link or through a gateway address on the lab network.
        let namespaceAddresses = try await ip(["-o", "-4", "addr", "show"]).split(separator: "\n").compactMap { line -> String? in
            let fields = line.split(separator: " ")
            guard let i = fields.firstIndex(of: "inet"), i + 1 < fields.count else { return nil }
            let address = String(fields[i + 1].split(separator: "/")[0])
            return address.hasPrefix("127.") ? nil : address  // a guest's 127.x is its own loopback
        }
        for route in ["default dev eth0", "default via 198.18.0.1 dev eth0 onlink"] {
            let added = try await guest("attacker", "ip route replace \(route) && ip route")
            #expect(added.status == 0, "route \(route): \(added.output)")
            for target in [Self.offNetwork] + namespaceAddresses {
                let ping = try await guest("attacker", "ping -c 2 -W 1 \(target)")
                #expect(ping.status != 0, "with route '\(route)' the guest pinged \(target): \(ping.output)")
                let tcp = try await guest("attacker", "nc.openbsd -z -w 2 \(target) 80")
                #expect(tcp.status != 0, "with route '\(route)' the guest connected to \(target):80: \(tcp.output)")
            }
        }
        // Nobody on the bridge answered for the outside: the guest's neighbour entries for
        // the off-network address and the would-be gateway never resolved.
        let neighbours = try await guest("attacker", "ip neigh show")
        #expect(!neighbours.output.contains(Self.offNetwork) || neighbours.output.contains("FAILED")
                || neighbours.output.contains("INCOMPLETE"), "\(neighbours.output)")
        #expect(!neighbours.output.split(separator: "\n").contains { $0.hasPrefix("198.18.0.1 ") && $0.contains("lladdr") },
                "something answered ARP for 198.18.0.1: \(neighbours.output)")

        #expect(try await vmlab(["lab", "stop", Self.lab]).status == 0)
        #expect(try IntegrationEnvironment.leftovers(connection, home: home).isEmpty)
    }

    /// `ip -n NAMESPACE ARGS`: the host side of the lab networks.
    func ip(_ args: [String]) async throws -> String {
        let result = try await Subprocess.run(["ip", "-n", Self.namespace] + args, check: false)
        guard result.status == 0 else {
            let message = "ip -n \(Self.namespace) \(args.joined(separator: " ")) failed: \(result.stderr) "
                + "(does libvirtd run in namespace \(Self.namespace)? set VMLAB_NETNS if not)"
            Issue.record(Comment(rawValue: message))
            throw VMLabError(.failed, message)
        }
        return result.stdout
    }

    /// The host-side device names (`<target dev='vnet3'/>`) of a running domain's NICs.
    static func targetDevices(_ domainXML: String) -> [String] {
        let regex = try! NSRegularExpression(pattern: "<interface[^>]*>.*?<target dev='([^']+)'", options: [.dotMatchesLineSeparators])
        return regex.matches(in: domainXML, range: NSRange(domainXML.startIndex..., in: domainXML)).compactMap {
            Range($0.range(at: 1), in: domainXML).map { String(domainXML[$0]) }
        }
    }
}
}
