import Foundation
import Testing
import Libvirt

@Suite("Network")
struct NetworkTests {
    @Test func builtInNetworkIsListed() throws {
        let connection = try openTestConnection()
        #expect(try connection.allNetworks().contains { $0.name == "default" })
        let network = try connection.network(named: "default")
        #expect(try network.xmlDescription().contains("<name>default</name>"))
    }

    @Test func isolatedNetworkLifecycle() throws {
        let connection = try openTestConnection()
        let name = "vmlab-test-net"
        // Isolated: no <forward>, no <ip>; the test driver creates no real bridge.
        let xml = """
            <network>
              <name>\(name)</name>
              <bridge name='vmltestbr0' stp='off'/>
            </network>
            """
        let network = try connection.defineNetwork(xml: xml)
        #expect(network.name == name)
        #expect(try !network.isActive())
        #expect(try connection.allNetworks().contains { $0.name == name })
        #expect(try !network.xmlDescription().contains("<forward"))

        try network.start()
        #expect(try network.isActive())
        #expect(try network.bridgeName() == "vmltestbr0")
        try network.setAutostart(false)

        try network.destroy()
        #expect(try !network.isActive())
        try network.undefine()
        #expect(try connection.lookupNetwork(named: name) == nil)
        let error = try #require(throws: LibvirtError.self) { try connection.network(named: name) }
        #expect(error.isNotFound)
    }
}
