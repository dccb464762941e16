import Foundation
@testable import Guests
import Testing
import TestSupport
@testable import VMLabSupport

/// Guards the owner tag `gc` relies on to find objects whose records were lost.
@Suite("OwnerTag")
struct OwnerTagTests {
    let tag = OwnerTag(owner: "lab:1a2b3c4d", home: "6f0c1e2a-0d9b-4c5e-9a8b-7c6d5e4f3a2b")

    @Test func domainsAndNetworksCarryTheTagAndItReadsBack() {
        let domain = DomainDefinition(name: "vmlab-x", accelerator: .tcg, memoryMiB: 64, vcpus: 1, kernel: "k",
                                      initrd: "i", kernelArguments: "", disks: [], owner: tag)
        let network = NetworkDefinition(name: "vmlab-1a2b3c4d-lan", bridge: "vl1a2b3c4d0", owner: tag)
        #expect(OwnerTag(describedIn: domain.xml) == tag)
        #expect(OwnerTag(describedIn: network.xml) == tag)
    }

    /// libvirt gives the metadata back in its own form: double quotes, other indentation.
    @Test func readsLibvirtsRendering() {
        let dumped = """
        <network>
          <name>vmlab-1a2b3c4d-lan</name>
          <metadata>
            <vmlab:owner xmlns:vmlab="urn:vmlab:owner:1" owner="guest:a&amp;b" home="abc-123"/>
          </metadata>
        </network>
        """
        #expect(OwnerTag(describedIn: dumped) == OwnerTag(owner: "guest:a&b", home: "abc-123"))
    }

    /// The namespace, not the prefix, marks the tag; text that only looks like one
    /// (in a description a person wrote) is not a tag.
    @Test func theNamespaceMarksTheTagNotItsPrefix() {
        let otherPrefix = """
        <domain><metadata><v:owner xmlns:v="urn:vmlab:owner:1" owner='lab:1a2b3c4d' home='h'/></metadata></domain>
        """
        #expect(OwnerTag(describedIn: otherPrefix) == OwnerTag(owner: "lab:1a2b3c4d", home: "h"))
        let inText = """
        <domain><description>&lt;vmlab:owner xmlns:vmlab="urn:vmlab:owner:1" owner="lab:x" home="h"/&gt;</description></domain>
        """
        #expect(OwnerTag(describedIn: inText) == nil)
    }

    @Test(arguments: [
        "<domain><name>x</name></domain>",
        "<metadata><vmlab:owner xmlns:vmlab=\"urn:other\" owner=\"lab:x\" home=\"h\"/></metadata>",
        "<metadata><vmlab:owner xmlns:vmlab=\"urn:vmlab:owner:1\" owner=\"lab:x\"/></metadata>",
        "<metadata><vmlab:owner xmlns:vmlab=\"urn:vmlab:owner:1\" owner=\"\" home=\"h\"/></metadata>",
        "<metadata><vmlab:owner xmlns:vmlab=\"urn:vmlab:owner:1\" owner=\"lab:x home=\"h\"",
    ])
    func objectsWithoutAWholeTagHaveNoOwner(xml: String) {
        #expect(OwnerTag(describedIn: xml) == nil)
    }

    @Test func aHomeMakesItsIdOnceAndKeepsIt() throws {
        let tmp = try TempDir()
        defer { tmp.remove() }
        let home = VMLabHome(root: tmp.path("home"))
        let first = try home.identity()
        #expect(first.count == 36)
        #expect(try home.identity() == first)
        #expect(try VMLabHome(root: tmp.path("other")).identity() != first)
    }

    @Test func aDamagedIdIsAnErrorNamingTheFile() throws {
        let tmp = try TempDir()
        defer { tmp.remove() }
        let home = VMLabHome(root: tmp.path("home"))
        try FileManager.default.createDirectory(at: home.root, withIntermediateDirectories: true)
        try Data("not an id\n".utf8).write(to: home.root.appendingPathComponent("home-id"))
        #expect { try home.identity() } throws: { "\($0)".contains("home-id") }
    }
}
