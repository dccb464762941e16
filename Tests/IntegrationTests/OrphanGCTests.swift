import Foundation
import Guests
import LabStore
import Libvirt
import Testing
import VMLabSupport

extension RealHost {
/// `vmlab gc` after the store lost its records: the home's domains, networks and folders
/// are found by their owner tags and removed, and another home's objects on the same
/// libvirtd stay. Cheap: the objects are defined, never booted.
@Suite struct OrphanGCTests {
    @Test func gcFindsThisHomesUnrecordedObjectsByTheirTagsAndLeavesOthers() async throws {
        let home = try IntegrationEnvironment.makeHome()
        defer { try? FileManager.default.removeItem(at: home.root) }
        let connection = try IntegrationEnvironment.connect()
        let ours = OwnerTag(owner: "lab:0rph4n00", home: try home.identity())
        let theirs = OwnerTag(owner: "lab:0rph4n00", home: UUID().uuidString.lowercased())
        let tag = "\(getpid() % 100_000)"

        let ourNetwork = NetworkDefinition(name: "vmlab-itorph-\(tag)-lan", bridge: "vlio\(tag)a", owner: ours)
        let theirNetwork = NetworkDefinition(name: "vmlab-itorph-\(tag)-other", bridge: "vlio\(tag)b", owner: theirs)
        func domain(_ name: String, _ owner: OwnerTag) -> DomainDefinition {
            DomainDefinition(name: name, accelerator: .tcg, memoryMiB: 64, vcpus: 1, kernel: "/nonexistent/kernel",
                             initrd: "/nonexistent/initrd", kernelArguments: "", disks: [], owner: owner)
        }
        let ourDomain = domain("vmlab-itorph-\(tag)-vm", ours)
        let theirDomain = domain("vmlab-itorph-\(tag)-theirs", theirs)
        let untagged = "vmlab-itorph-\(tag)-untagged"
        defer {
            for name in [ourDomain.name, theirDomain.name, untagged] {
                _ = try? connection.lookupDomain(named: name)?.undefine()
            }
            for name in [ourNetwork.name, theirNetwork.name] {
                if let network = try? connection.lookupNetwork(named: name) {
                    try? network.destroy()
                    try? network.undefine()
                }
            }
        }
        try connection.defineNetwork(xml: ourNetwork.xml).start()
        _ = try connection.defineNetwork(xml: theirNetwork.xml)
        _ = try connection.defineDomain(xml: ourDomain.xml)
        _ = try connection.defineDomain(xml: theirDomain.xml)
        _ = try connection.defineDomain(xml: domain(untagged, ours).xml.replacingOccurrences(
            of: #"<metadata>[\s\S]*</metadata>"#, with: "", options: .regularExpression))
        let folder = home.instances.appendingPathComponent("0abc1234")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try Data("overlay".utf8).write(to: folder.appendingPathComponent("vm.qcow2"))
        // The store knows nothing of any of it.
        _ = try Store(home: home)

        let dryRun = try await IntegrationEnvironment.vmlab(["gc", "--dry-run"], home: home)
        #expect(dryRun.status == 0, "\(dryRun.stderr)")
        for name in [ourDomain.name, ourNetwork.name, folder.path] {
            #expect(dryRun.stdout.contains("would remove") && dryRun.stdout.contains(name), "dry run misses \(name)")
        }
        #expect(try connection.lookupDomain(named: ourDomain.name) != nil, "a dry run removes nothing")

        let gc = try await IntegrationEnvironment.vmlab(["gc"], home: home)
        #expect(gc.status == 0, "\(gc.stderr)")
        #expect(try connection.lookupDomain(named: ourDomain.name) == nil)
        #expect(try connection.lookupNetwork(named: ourNetwork.name) == nil)
        #expect(!FileManager.default.fileExists(atPath: folder.path))
        #expect(try connection.lookupDomain(named: theirDomain.name) != nil, "another home's domain was removed")
        #expect(try connection.lookupNetwork(named: theirNetwork.name) != nil, "another home's network was removed")
        #expect(try connection.lookupDomain(named: untagged) != nil, "an untagged domain was removed")
        for name in [theirDomain.name, theirNetwork.name, untagged] { #expect(!gc.stdout.contains(name)) }
    }
}
}
