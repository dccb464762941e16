import Foundation
import Testing
import Libvirt

@Suite("Domain")
struct DomainTests {
    @Test func lifecycleDefineStartDestroyUndefine() throws {
        let connection = try openTestConnection()
        let name = uniqueName("vmlab-life")
        let domain = try connection.defineDomain(xml: testDomainXML(name: name))
        #expect(domain.name == name)
        #expect(try domain.state() == .shutOff)
        #expect(try !domain.isActive())
        #expect(try domain.isPersistent())
        #expect(try connection.allDomains().contains { $0.name == name })

        try domain.start()
        #expect(try domain.state() == .running)
        #expect(try domain.isActive())

        try domain.destroy()
        #expect(try domain.state() == .shutOff)

        try domain.undefine()
        #expect(try connection.lookupDomain(named: name) == nil)
        let error = try #require(throws: LibvirtError.self) { try connection.domain(named: name) }
        #expect(error.isNotFound)
    }

    @Test func shutdownStopsTheTestDomain() throws {
        let connection = try openTestConnection()
        let domain = try startedTestDomain(connection, prefix: "vmlab-shutdown")
        defer { try? domain.undefine() }
        try domain.shutdown()
        #expect(try domain.state() == .shutOff)
    }

    @Test func startingARunningDomainThrows() throws {
        let connection = try openTestConnection()
        let domain = try startedTestDomain(connection, prefix: "vmlab-twice")
        defer { try? domain.destroy(); try? domain.undefine() }
        let error = try #require(throws: LibvirtError.self) { try domain.start() }
        #expect(!error.message.isEmpty)
    }

    @Test func inactiveXMLHasNoRuntimeId() throws {
        let connection = try openTestConnection()
        let domain = try startedTestDomain(connection, prefix: "vmlab-xml")
        defer { try? domain.destroy(); try? domain.undefine() }
        #expect(try domain.xmlDescription().contains(" id='"))
        #expect(try !domain.xmlDescription(inactive: true).contains(" id='"))
    }

    @Test func linkStateXMLIsEditedFromTheLiveInterface() throws {
        let xml = testDomainXML(name: "x")
        let down = try Domain.linkStateUpdateXML(domainXML: xml, target: "vmltest0", up: false)
        #expect(down.hasPrefix("<interface"))
        #expect(down.contains("<link state=\"down\"") || down.contains("<link state='down'"))
        #expect(down.contains("52:54:00:12:34:56"))
        #expect(!down.contains("<name>"))

        let matched = try Domain.linkStateUpdateXML(
            domainXML: xml, mac: "52:54:00:12:34:56".uppercased(), target: "vmltest0", up: true)
        #expect(matched.contains("state=\"up\"") || matched.contains("state='up'"))

        // An existing <link> is replaced, not duplicated.
        let withLink = xml.replacingOccurrences(of: "<target dev='vmltest0'/>",
                                                with: "<target dev='vmltest0'/><link state='down'/>")
        let up = try Domain.linkStateUpdateXML(domainXML: withLink, target: "vmltest0", up: true)
        #expect(up.components(separatedBy: "<link").count == 2)
        #expect(!up.contains("down"))

        #expect(throws: LibvirtError.self) {
            try Domain.linkStateUpdateXML(domainXML: xml, target: "nope0", up: true)
        }
        #expect(throws: LibvirtError.self) {
            try Domain.linkStateUpdateXML(domainXML: xml, mac: "52:54:00:00:00:00", target: "vmltest0", up: true)
        }
    }

    @Test func setInterfaceLinkStateReportsDriverErrors() throws {
        // The test driver has no virDomainUpdateDeviceFlags: the error must say so.
        let connection = try openTestConnection()
        let domain = try startedTestDomain(connection, prefix: "vmlab-link")
        defer { try? domain.destroy(); try? domain.undefine() }
        let unsupported = try #require(throws: LibvirtError.self) {
            try domain.setInterfaceLinkState(target: "vmltest0", up: false)
        }
        #expect(unsupported.message.contains("virDomainUpdateDeviceFlags"))
        let missing = try #require(throws: LibvirtError.self) {
            try domain.setInterfaceLinkState(target: "nope0", up: false)
        }
        #expect(missing.message.contains("nope0"))
    }

    @Test func agentAndConsoleErrorsAreLibvirtErrors() throws {
        // The test driver has neither a guest agent nor consoles; both must fail cleanly.
        let connection = try openTestConnection()
        let domain = try connection.domain(named: "test")
        let agent = try #require(throws: LibvirtError.self) {
            try domain.qemuAgentCommand(#"{"execute":"guest-ping"}"#, timeoutSeconds: 1)
        }
        #expect(!agent.message.isEmpty)
        let console = try #require(throws: LibvirtError.self) { try domain.openConsole() }
        #expect(console.message.contains("virDomainOpenConsole"))
    }
}
