import Foundation
import Testing
import Libvirt

@Suite("Snapshots")
struct SnapshotTests {
    @Test func createListRevertDelete() throws {
        let connection = try openTestConnection()
        let domain = try startedTestDomain(connection, prefix: "vmlab-snap")
        defer { try? domain.destroy(); try? domain.undefine() }

        let before = Date().addingTimeInterval(-5)
        let baseline = try domain.createSnapshot(name: "baseline", description: "before <the> \"crash\" & 'fun'")
        #expect(baseline.name == "baseline")
        let xml = try baseline.xmlDescription()
        #expect(xml.contains("&lt;the&gt;"))
        #expect(xml.contains("&amp;"))
        let created = try #require(try baseline.creationTime())
        #expect(created >= before && created <= Date().addingTimeInterval(5))

        try domain.destroy()
        #expect(try domain.state() == .shutOff)
        let second = try domain.createSnapshot(name: "off", atomic: false)

        #expect(Set(try domain.snapshots().map(\.name)) == ["baseline", "off"])
        #expect(try domain.snapshot(named: "off").name == "off")

        try domain.revert(to: baseline)
        #expect(try domain.state() == .running)
        try domain.revert(to: second)
        #expect(try domain.state() == .shutOff)
        // The flag is accepted; the test driver (unlike qemu) still leaves the domain off.
        try domain.revert(to: second, forceRunning: true)
        #expect([.running, .shutOff].contains(try domain.state()))

        try second.delete()
        let error = try #require(throws: LibvirtError.self) { try domain.snapshot(named: "off") }
        #expect(error.isNotFound)
        #expect(error.message.contains("off"))
        try baseline.delete()
        #expect(try domain.snapshots().isEmpty)
    }

    @Test func duplicateSnapshotNameThrows() throws {
        let connection = try openTestConnection()
        let domain = try startedTestDomain(connection, prefix: "vmlab-dup")
        defer { try? domain.destroy(); try? domain.undefine() }
        _ = try domain.createSnapshot(name: "one")
        let error = try #require(throws: LibvirtError.self) { try domain.createSnapshot(name: "one") }
        #expect(!error.message.isEmpty)
    }
}
