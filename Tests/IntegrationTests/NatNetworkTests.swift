import Foundation
import Guests
import LabModel
import LabStore
import Libvirt
import Runner
import Testing
import VMLabSupport

extension RealHost {
/// A lab with an outside network and a NAT network, on the real libvirtd: the namespace has
/// no route off the machine, a guest behind NAT reaches the outside network (seen there
/// from the outside bridge's address) and nothing else, nothing outside reaches in, and the
/// host's own namespace keeps its rules. Off-lab destinations are only ever looked up
/// (`ip route get` sends nothing); packets go only between the lab's own addresses.
@Suite(.serialized)
struct NatNetworkTests {
    static let namespace = ProcessInfo.processInfo.environment["VMLAB_NETNS"] ?? "vmlab"
    static let lab = "nat-proof"
    /// TEST-NET-1: never routed; used in route lookups only.
    static let offNetwork = "192.0.2.1"
    /// Subnets of this test's own (other labs may run in the namespace at the same time).
    static let yaml = """
        title: NAT proof
        summary: One guest on an outside network, one behind NAT.
        image: base
        networks:
          campus: {kind: outside, address: 198.18.210.1/24}
          inner: {kind: nat, address: 198.18.220.1/24, outside: campus}
        vms:
          outsider: {memory: 256M, nics: [{network: campus, address: 198.18.210.10/24}]}
          insider: {memory: 256M, nics: [{network: inner, address: 198.18.220.10/24}]}
        experiments:
          idle: {steps: [{sleep: 0.1}]}
        """

    @Test func natReachesTheOutsideNetworkOnly() async throws {
        let home = try IntegrationEnvironment.makeHome()
        defer { try? FileManager.default.removeItem(at: home.root) }
        // A course of the test's own: its lab, and the repository's image recipes.
        let course = home.root.appendingPathComponent("course", isDirectory: true)
        try FileManager.default.createDirectory(at: course.appendingPathComponent("Labs/\(Self.lab)"), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(at: course.appendingPathComponent("Images"),
                                                   withDestinationURL: IntegrationEnvironment.repository.appendingPathComponent("Images"))
        try Self.yaml.write(to: course.appendingPathComponent("Labs/\(Self.lab)/lab.yaml"), atomically: true, encoding: .utf8)
        let connection = try IntegrationEnvironment.connect()
        func vmlab(_ args: [String]) async throws -> (status: Int32, stdout: String, stderr: String) {
            try await IntegrationEnvironment.vmlab(args, home: home, course: course)
        }
        func guest(_ vm: String, _ command: String) async throws -> (status: Int32, output: String) {
            let r = try await vmlab(["exec", Self.lab, vm, "--", "sh", "-c", command])
            return (r.status, r.stdout + r.stderr)
        }

        let rootBefore = try await Self.rootRules()
        // The namespace has no route off the machine, before any lab network exists too.
        let before = try await run(["ip", "-n", Self.namespace, "route", "get", Self.offNetwork], check: false)
        #expect(before.status != 0 && before.stderr.contains("unreachable"), "the namespace routes \(Self.offNetwork): \(before.stdout)")
        #expect(try await run(["ip", "-n", Self.namespace, "route", "show", "default"]).stdout.isEmpty)

        let started = try await vmlab(["lab", "start", Self.lab])
        try #require(started.status == 0, "lab start failed: \(started.stderr)")
        defer { IntegrationEnvironment.vmlabSync(["lab", "stop", Self.lab], home: home, course: course) }
        let instance = try #require(try Store(home: home).activeInstances(lab: Self.lab).first)

        // libvirt: nat translates into the outside bridge only; outside has no rules of libvirt's.
        func network(_ name: String) throws -> Network {
            try #require(try connection.allNetworks().first { $0.name == Naming.labNetwork(instance: instance.slot, network: name) })
        }
        let outsideBridge = try network("campus").bridgeName(), natBridge = try network("inner").bridgeName()
        let natXML = try network("inner").xmlDescription()
        #expect(natXML.contains("<forward dev='\(outsideBridge)' mode='nat'>") || natXML.contains("<forward mode='nat' dev='\(outsideBridge)'>"),
                "\(natXML)")
        #expect(try network("campus").xmlDescription().contains("<forward mode='open'/>"))

        // The namespace's firewall says the same: masquerade only out of the outside bridge,
        // forwarding out of the NAT bridge only into it, and nothing new into the NAT bridge.
        let rules = try await run(["ip", "netns", "exec", Self.namespace, "iptables-save"]).stdout
            .split(separator: "\n").map(String.init)
        let mine = rules.filter { $0.contains(natBridge) || $0.contains("198.18.220.") }
        #expect(mine.contains("-A LIBVIRT_FWO -s 198.18.220.0/24 -i \(natBridge) -o \(outsideBridge) -j ACCEPT"), "\(mine)")
        #expect(mine.contains("-A LIBVIRT_FWO -i \(natBridge) -j REJECT --reject-with icmp-port-unreachable"), "\(mine)")
        #expect(mine.contains("-A LIBVIRT_FWI -o \(natBridge) -j REJECT --reject-with icmp-port-unreachable"), "\(mine)")
        #expect(mine.contains("-A LIBVIRT_FWI -d 198.18.220.0/24 -i \(outsideBridge) -o \(natBridge) -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"), "\(mine)")
        let masquerades = mine.filter { $0.contains("MASQUERADE") }
        #expect(!masquerades.isEmpty && masquerades.allSatisfy { $0.contains("-o \(outsideBridge)") }, "\(masquerades)")
        #expect(!rules.contains { $0.contains(outsideBridge) && $0.contains("REJECT") }, "nothing rejects traffic into the outside network")

        // Route lookups in the namespace, as if forwarding a packet from the NAT guest
        // (`iif`): the outside network is on a bridge; an off-lab address has no route.
        let toOutside = try await run(["ip", "-n", Self.namespace, "route", "get", "198.18.210.10", "from", "198.18.220.10", "iif", natBridge])
        #expect(toOutside.stdout.contains("dev \(outsideBridge)"), "\(toOutside.stdout)")
        let offLab = try await run(["ip", "-n", Self.namespace, "route", "get", Self.offNetwork, "from", "198.18.220.10", "iif", natBridge], check: false)
        #expect(offLab.status != 0, "the namespace would forward the NAT guest's packet off the lab: \(offLab.stdout)")
        #expect(try await run(["ip", "-n", Self.namespace, "route", "show", "default"]).stdout.isEmpty)

        // In the NAT guest: a route to the outside subnet through the NAT bridge, no default.
        let routes = try await guest("insider", "ip route")
        #expect(routes.output.contains("198.18.210.0/24 via 198.18.220.1 dev eth0"), "\(routes.output)")
        #expect(!routes.output.contains("default"), "\(routes.output)")
        let guestOff = try await guest("insider", "ip route get \(Self.offNetwork)")
        #expect(guestOff.status != 0, "the NAT guest has a route to \(Self.offNetwork): \(guestOff.output)")

        // The NAT guest reaches an outside guest, which sees the outside bridge's address.
        let listen = try await guest("outsider", "setsid sh -c 'nc.openbsd -n -l -v -p 7000 > /tmp/got.txt 2> /tmp/peer.txt' </dev/null >/dev/null 2>&1 & sleep 0.5")
        #expect(listen.status == 0, "\(listen.output)")
        let sent = try await guest("insider", "echo hello-from-inside | nc.openbsd -N -w 5 198.18.210.10 7000")
        #expect(sent.status == 0, "the NAT guest could not reach the outside guest: \(sent.output)")
        let seen = try await guest("outsider", "sleep 0.5; cat /tmp/got.txt /tmp/peer.txt")
        #expect(seen.output.contains("hello-from-inside"), "\(seen.output)")
        #expect(seen.output.contains("198.18.210.1 ") && !seen.output.contains("198.18.220."),
                "the outside guest sees the NAT bridge's outside address, not the inside one: \(seen.output)")

        // Nothing outside reaches in, even with a route to the inside subnet.
        _ = try await guest("insider", "setsid nc.openbsd -lk -p 7001 </dev/null >/dev/null 2>&1 & sleep 0.3")
        let route = try await guest("outsider", "ip route replace 198.18.220.0/24 via 198.18.210.1 dev eth0")
        #expect(route.status == 0, "\(route.output)")
        let inbound = try await guest("outsider", "nc.openbsd -z -w 3 198.18.220.10 7001")
        #expect(inbound.status != 0, "an outside guest connected to the NAT guest: \(inbound.output)")
        #expect(try await guest("insider", "nc.openbsd -z -w 3 127.0.0.1 7001").status == 0, "the inside service listens")

        #expect(try await vmlab(["lab", "stop", Self.lab]).status == 0)
        #expect(try IntegrationEnvironment.leftovers(connection, home: home).isEmpty)
        let after = try await run(["ip", "netns", "exec", Self.namespace, "iptables-save"]).stdout
        #expect(!after.contains(natBridge) && !after.contains(outsideBridge), "libvirt removed the lab's rules")
        // The machine's own namespace: not one rule changed, forwarding as it was.
        let rootAfter = try await Self.rootRules()
        #expect(rootAfter == rootBefore, "the host namespace's rules changed:\n\(rootBefore)\n---\n\(rootAfter)")
    }

    /// The host (root) namespace's firewall and forwarding switch, counters removed (they
    /// move with the machine's own traffic).
    static func rootRules() async throws -> String {
        let nft = try await Subprocess.run(["nft", "list", "ruleset"]).stdout
            .replacingOccurrences(of: #"counter packets \d+ bytes \d+"#, with: "counter", options: .regularExpression)
        let iptables = try await Subprocess.run(["iptables-save"]).stdout.split(separator: "\n")
            .filter { !$0.hasPrefix("#") }
            .map { $0.replacingOccurrences(of: #"\[\d+:\d+\]"#, with: "", options: .regularExpression) }
            .joined(separator: "\n")
        let forwarding = try String(contentsOfFile: "/proc/sys/net/ipv4/ip_forward", encoding: .utf8)
        return "ip_forward=\(forwarding)\n\(nft)\n\(iptables)"
    }

    /// A host command; records an issue when it fails and `check` is set.
    func run(_ argv: [String], check: Bool = true) async throws -> Subprocess.Result {
        let result = try await Subprocess.run(argv, check: false)
        if check, result.status != 0 {
            Issue.record("\(argv.joined(separator: " ")) failed: \(result.stderr)")
            throw VMLabError(.failed, "\(argv.joined(separator: " ")) failed")
        }
        return result
    }
}
}
