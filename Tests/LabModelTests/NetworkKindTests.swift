import Foundation
@testable import LabModel
import Testing

/// `networks:` kinds: isolated (default), outside and nat, with their addresses checked.
struct NetworkKindTests {
    static func lab(_ networks: String, nics: String = "[]") -> String {
        "title: T\nsummary: S\nimage: base\nnetworks:\n\(networks)\nvms: {box: {nics: \(nics)}}\nexperiments: {e: {steps: [{sleep: 1}]}}\n"
    }

    @Test func kindsLoadWithTheirAddresses() throws {
        let course = try TempCourse()
        defer { course.remove() }
        let url = try course.writeLab("x", Self.lab("""
              lan: {}
              campus: {kind: outside, address: 198.18.10.1/24}
              inner: {kind: nat, address: 198.18.20.1/24}
            """, nics: "[{network: inner, address: 198.18.20.10/24}, {network: campus, address: 198.18.10.7/24}]"))
        let spec = try LabSpec.load(url, imagesDirectory: course.images)
        #expect(spec.network("lan") == NetworkSpec(name: "lan"))
        #expect(spec.network("campus")?.kind == .outside)
        #expect(spec.network("campus")?.address?.subnet == "198.18.10.0/24")
        #expect(spec.network("inner")?.kind == .nat(outside: "campus"), "the only outside network is the default")
        #expect(spec.network("inner")?.address?.host == "198.18.20.1")
        #expect(spec.outsideRoute(for: spec.vms[0].nics[0]) == "198.18.10.0/24 via 198.18.20.1")
        #expect(spec.outsideRoute(for: spec.vms[0].nics[1]) == nil, "a guest on the outside network is on-link")
    }

    static let cases: [(String, String, String, String)] = [
        ("unknown kind", "  a: {kind: bridged}", "[]", "networks.a.kind: unknown network kind 'bridged' (kinds: isolated, nat, outside)"),
        ("isolated with address", "  a: {address: 198.18.0.1/24}", "[]", "an isolated network has no host address"),
        ("outside without address", "  a: {kind: outside}", "[]", "a outside network needs the bridge's own address"),
        ("nat without outside", "  a: {kind: nat, address: 198.18.0.1/24}", "[]",
         "a nat network translates towards an outside network: declare one with kind: outside"),
        ("nat names a non-outside network", "  a: {}\n  b: {kind: nat, address: 198.18.0.1/24, outside: a}", "[]",
         "networks.b.outside: 'a' is not an outside network (declare one with kind: outside)"),
        ("two outsides, none named", "  o1: {kind: outside, address: 198.18.1.1/24}\n  o2: {kind: outside, address: 198.18.2.1/24}\n  n: {kind: nat, address: 198.18.3.1/24}",
         "[]", "several outside networks (o1, o2): name the one to translate to with outside:"),
        ("outside on isolated", "  o: {kind: outside, address: 198.18.1.1/24}\n  a: {outside: o}", "[]",
         "only a nat network names the outside network"),
        ("overlap", "  o: {kind: outside, address: 198.18.0.1/16}\n  n: {kind: nat, address: 198.18.5.1/24}", "[]",
         "198.18.5.0/24 overlaps network o (198.18.0.0/16)"),
        ("network address", "  o: {kind: outside, address: 198.18.1.0/24}", "[]", "is the subnet's network address"),
        ("bad prefix", "  o: {kind: outside, address: 198.18.1.1/31}", "[]", "use a prefix length from 8 to 30"),
        ("not CIDR", "  o: {kind: outside, address: 198.18.1.1}", "[]", "expected the bridge's IPv4 address with its prefix length"),
        ("NIC off subnet", "  o: {kind: outside, address: 198.18.1.1/24}", "[{network: o, address: 198.18.2.5/24}]",
         "198.18.2.5/24 is not on network o's subnet 198.18.1.0/24"),
        ("NIC takes the bridge address", "  o: {kind: outside, address: 198.18.1.1/24}", "[{network: o, address: 198.18.1.1/24}]",
         "198.18.1.1 is the address of network o's bridge"),
    ]

    @Test(arguments: cases)
    func problemsAreNamed(_ name: String, _ networks: String, _ nics: String, _ fragment: String) throws {
        let errors = try labErrors(Self.lab(networks, nics: nics))
        #expect(errors.contains { $0.description.contains(fragment) },
                "\(name): wanted '\(fragment)', got:\n\(errors.map(\.description).joined(separator: "\n"))")
    }

    @Test func subnetArithmetic() throws {
        let a = try #require(IPv4Network("198.18.20.1/24"))
        #expect(a.subnet == "198.18.20.0/24" && a.host == "198.18.20.1" && !a.isNetworkAddress)
        #expect(a.contains(try #require(IPv4Network("198.18.20.200/24"))))
        #expect(!a.contains(try #require(IPv4Network("198.18.21.1/24"))))
        #expect(IPv4Network("198.18.20.255/24")!.isBroadcastAddress)
        #expect(IPv4Network("10.0.0.1/8")!.overlaps(IPv4Network("10.200.0.1/24")!))
        #expect(IPv4Network("198.18.20.1/33") == nil && IPv4Network("1.2.3/24") == nil)
    }
}
