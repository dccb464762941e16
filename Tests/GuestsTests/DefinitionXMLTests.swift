import Foundation
@testable import Guests
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing

/// Domain and network definitions stay well-formed XML whatever names and paths go in.
struct DefinitionXMLTests {
    static let hostile = "a'b\"c<d>e&f\u{0}g\u{1}h\u{1B}i\tj\nk\r\nl\u{FFFE}m é ]]> --> <?x?>"
    /// What a parser gives back: forbidden characters are U+FFFD, everything else survives.
    static let hostileParsed = "a'b\"c<d>e&f\u{FFFD}g\u{FFFD}h\u{FFFD}i\tj\nk\r\nl\u{FFFD}m é ]]> --> <?x?>"

    func parse(_ xml: String) throws -> XMLElement {
        try #require(try XMLDocument(xmlString: xml, options: []).rootElement())
    }

    @Test func hostileDomainAndNetworkDefinitionsParse() throws {
        var domain = DomainDefinition(name: Self.hostile, accelerator: .kvm, memoryMiB: 64, vcpus: 2, kernel: Self.hostile,
                                      initrd: "i", kernelArguments: Self.hostile,
                                      disks: [.init(path: Self.hostile, target: "vda")],
                                      interfaces: [.init(network: Self.hostile, mac: Self.hostile)], owner: OwnerTag(owner: Self.hostile, home: Self.hostile))
        domain.cpuset = Self.hostile
        let root = try parse(domain.xml)
        #expect(try root.nodes(forXPath: "/domain/os/cmdline").first?.stringValue == Self.hostileParsed)
        #expect(try root.nodes(forXPath: "/domain/cputune/emulatorpin/@cpuset").first?.stringValue == Self.hostileParsed)
        let network = try parse(NetworkDefinition(name: Self.hostile, bridge: Self.hostile, owner: OwnerTag(owner: Self.hostile, home: "h")).xml)
        #expect(try network.nodes(forXPath: "/network/bridge/@name").first?.stringValue == Self.hostileParsed)
    }
}
