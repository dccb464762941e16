import Foundation
import FoundationXML
@testable import Guests
@testable import LabModel
@testable import LabStore
import Testing
@testable import VMLabSupport

/// Guards the libvirt domain XML of a guest (parsed back as XML) and the guest kernel command line.
@Suite("DomainDefinition")
struct DomainDefinitionTests {
    func definition(_ accelerator: Accelerator = .tcg, name: String = "vmlab-vm-web",
                    disks: [DomainDefinition.Disk] = [.init(path: "/var/lib/vmlab/guests/web/disk.qcow2", target: "vda")],
                    interfaces: [DomainDefinition.Interface] = []) -> DomainDefinition {
        var d = DomainDefinition(
            name: name, accelerator: accelerator, memoryMiB: 768, vcpus: 3,
            kernel: "/images/abc/kernel", initrd: "/images/abc/initrd",
            kernelArguments: "root=/dev/vda rw console=ttyS0 quiet acpi=noirq vmlab.hostname=web",
            disks: disks, interfaces: interfaces, owner: OwnerTag(owner: "guest:web", home: "0f1e2d3c"))
        d.uid = 1234
        d.gid = 5678
        return d
    }

    func parse(_ d: DomainDefinition) throws -> XMLElement {
        let doc = try XMLDocument(xmlString: d.xml, options: [])
        return try #require(doc.rootElement())
    }

    func nodes(_ root: XMLElement, _ xpath: String) throws -> [XMLNode] {
        try root.nodes(forXPath: xpath)
    }

    func text(_ root: XMLElement, _ xpath: String) throws -> String? {
        let found = try nodes(root, xpath)
        try #require(found.count <= 1, "\(xpath) matched \(found.count) nodes")
        return found.first?.stringValue
    }

    @Test(arguments: [(Accelerator.tcg, "qemu", 0), (Accelerator.kvm, "kvm", 1)])
    func domainTypeAndCPUFollowTheAccelerator(accelerator: Accelerator, type: String, hostModelCPUs: Int) throws {
        let root = try parse(definition(accelerator))
        #expect(root.name == "domain")
        #expect(root.attribute(forName: "type")?.stringValue == type)
        #expect(try nodes(root, "/domain/cpu").count == hostModelCPUs)
        if hostModelCPUs == 1 {
            #expect(try text(root, "/domain/cpu/@mode") == "host-model")
        }
    }

    @Test func nameMemoryAndVCPUs() throws {
        let root = try parse(definition())
        #expect(try text(root, "/domain/name") == "vmlab-vm-web")
        #expect(try text(root, "/domain/memory") == "768")
        #expect(try text(root, "/domain/memory/@unit") == "MiB")
        #expect(try text(root, "/domain/currentMemory") == "768")
        #expect(try text(root, "/domain/currentMemory/@unit") == "MiB")
        #expect(try text(root, "/domain/vcpu") == "3")
    }

    @Test func directKernelBoot() throws {
        let root = try parse(definition())
        #expect(try text(root, "/domain/os/type") == "hvm")
        #expect(try text(root, "/domain/os/kernel") == "/images/abc/kernel")
        #expect(try text(root, "/domain/os/initrd") == "/images/abc/initrd")
        #expect(try text(root, "/domain/os/cmdline") == "root=/dev/vda rw console=ttyS0 quiet acpi=noirq vmlab.hostname=web")
    }

    @Test func oneVirtioQcow2DiskPerDisk() throws {
        let root = try parse(definition(disks: [
            .init(path: "/g/web/disk.qcow2", target: "vda"),
            .init(path: "/g/web/data.qcow2", target: "vdb"),
        ]))
        #expect(try nodes(root, "/domain/devices/disk").count == 2)
        #expect(try nodes(root, "/domain/devices/disk/source/@file").map(\.stringValue) == ["/g/web/disk.qcow2", "/g/web/data.qcow2"])
        #expect(try nodes(root, "/domain/devices/disk/target/@dev").map(\.stringValue) == ["vda", "vdb"])
        #expect(try nodes(root, "/domain/devices/disk/target/@bus").map(\.stringValue) == ["virtio", "virtio"])
        #expect(try nodes(root, "/domain/devices/disk/driver/@type").map(\.stringValue) == ["qcow2", "qcow2"])
        #expect(try nodes(root, "/domain/devices/disk/@device").map(\.stringValue) == ["disk", "disk"])
    }

    @Test func noDisksMeansNoDiskElements() throws {
        let root = try parse(definition(disks: []))
        #expect(try nodes(root, "/domain/devices/disk").isEmpty)
    }

    @Test func agentChannelBalloonAndConsole() throws {
        let root = try parse(definition())
        #expect(try text(root, "/domain/devices/channel/target/@name") == "org.qemu.guest_agent.0")
        #expect(try text(root, "/domain/devices/channel/target/@type") == "virtio")
        #expect(try text(root, "/domain/devices/memballoon/@model") == "virtio")
        #expect(try nodes(root, "/domain/devices/serial").count == 1)
        #expect(try text(root, "/domain/devices/console/target/@type") == "serial")
    }

    @Test func aPanicDeviceAndAConsoleLogWhenAsked() throws {
        var d = definition()
        #expect(try text(parse(d), "/domain/devices/panic/@model") == "isa")
        #expect(try nodes(parse(d), "/domain/devices/serial/log").isEmpty)
        d.consoleLog = "/home/x/instances/abc/box-console.log"
        let root = try parse(d)
        #expect(try text(root, "/domain/devices/serial/log/@file") == "/home/x/instances/abc/box-console.log")
        #expect(try text(root, "/domain/devices/serial/log/@append") == "on")
        #expect(try text(root, "/domain/on_crash") == "destroy")
    }

    @Test func noInterfaceWithoutInterfaces() throws {
        let root = try parse(definition(interfaces: []))
        #expect(try nodes(root, "//interface").isEmpty)
    }

    @Test func oneInterfacePerNetwork() throws {
        let root = try parse(definition(interfaces: [
            .init(network: "vmlab-net-a", mac: "52:54:00:00:00:01"),
            .init(network: "vmlab-net-b", mac: "52:54:00:00:00:02"),
        ]))
        #expect(try nodes(root, "/domain/devices/interface").count == 2)
        #expect(try nodes(root, "/domain/devices/interface/@type").map(\.stringValue) == ["network", "network"])
        #expect(try nodes(root, "/domain/devices/interface/source/@network").map(\.stringValue) == ["vmlab-net-a", "vmlab-net-b"])
        #expect(try nodes(root, "/domain/devices/interface/mac/@address").map(\.stringValue)
            == ["52:54:00:00:00:01", "52:54:00:00:00:02"])
        #expect(try nodes(root, "/domain/devices/interface/model/@type").map(\.stringValue) == ["virtio", "virtio"])
    }

    @Test func ownerAndSecurityLabel() throws {
        let root = try parse(definition())
        let guest = try #require(try nodes(root, "/domain/metadata/*").first as? XMLElement)
        #expect(guest.localName == "owner")
        #expect(guest.uri == "urn:vmlab:owner:1")
        #expect(guest.attribute(forName: "owner")?.stringValue == "guest:web")
        #expect(try text(root, "/domain/seclabel/label") == "+1234:+5678")
        #expect(try text(root, "/domain/seclabel/@relabel") == "no")
    }

    @Test func defaultOwnerIDsAreTheCurrentUser() {
        let d = DomainDefinition(name: "n", accelerator: .tcg, memoryMiB: 64, vcpus: 1, kernel: "k", initrd: "i",
                                 kernelArguments: "", disks: [], owner: OwnerTag(owner: "o", home: "h"))
        #expect(d.uid == getuid())
        #expect(d.gid == getgid())
        #expect(d.xml.contains("<label>+\(getuid()):+\(getgid())</label>"))
    }

    @Test func specialCharactersAreEscapedAndRoundTrip() throws {
        let nasty = #"web'<&>"x"#
        var d = definition(name: nasty, disks: [.init(path: "/g/it's <here> & \"there\".qcow2", target: "vda")],
                           interfaces: [.init(network: "net'&<", mac: "52:54:00:00:00:01")])
        d.kernelArguments = "init=/bin/sh -c 'a && b < c'"
        d.owner = OwnerTag(owner: "lab:<o'&>", home: "h")
        #expect(!d.xml.contains(nasty))
        let root = try parse(d)
        #expect(try text(root, "/domain/name") == nasty)
        #expect(try text(root, "/domain/devices/disk/source/@file") == "/g/it's <here> & \"there\".qcow2")
        #expect(try text(root, "/domain/devices/interface/source/@network") == "net'&<")
        #expect(try text(root, "/domain/os/cmdline") == "init=/bin/sh -c 'a && b < c'")
        let guest = try #require(try nodes(root, "/domain/metadata/*").first as? XMLElement)
        #expect(guest.attribute(forName: "owner")?.stringValue == "lab:<o'&>")
        #expect(OwnerTag(describedIn: d.xml)?.owner == "lab:<o'&>")
    }

    @Test(arguments: [
        ("a&b", "a&amp;b"), ("<x>", "&lt;x&gt;"), ("it's", "it&#39;s"), ("\"q\"", "&quot;q&quot;"), ("plain é", "plain é"),
    ])
    func escapeFunction(raw: String, escaped: String) {
        #expect(escapeMarkup(raw) == escaped)
    }

    // MARK: kernel command line

    @Test func kernelArgumentsWithoutExtra() {
        #expect(GuestManager.kernelArguments(hostname: "web", extra: "")
            == "root=/dev/vda rw console=ttyS0 quiet acpi=noirq vmlab.hostname=web")
    }

    @Test func kernelArgumentsAppendExtraLast() {
        let args = GuestManager.kernelArguments(hostname: "db-1", extra: "loglevel=3 nokaslr")
        #expect(args == "root=/dev/vda rw console=ttyS0 quiet acpi=noirq vmlab.hostname=db-1 loglevel=3 nokaslr")
        #expect(!args.contains("  "))
    }
}
