import Foundation
import Libvirt

/// The daemonless libvirt test driver: one running domain "test", one network "default".
/// Note: concurrently open `test:///default` connections share one in-memory state
/// (it is reset when the last one closes), so tests use unique names for what they create.
let testURI = "test:///default"

/// A fresh connection to the test driver.
func openTestConnection() throws -> Connection {
    try Connection(uri: testURI)
}

/// A name no other test uses.
func uniqueName(_ prefix: String) -> String {
    "\(prefix)-\(UUID().uuidString.prefix(8).lowercased())"
}

/// Minimal domain XML the test driver accepts.
func testDomainXML(name: String, memoryKiB: UInt64 = 262_144) -> String {
    """
    <domain type='test'>
      <name>\(name)</name>
      <memory unit='KiB'>\(memoryKiB)</memory>
      <currentMemory unit='KiB'>\(memoryKiB)</currentMemory>
      <vcpu>1</vcpu>
      <os><type arch='i686'>hvm</type></os>
      <devices>
        <interface type='network'>
          <mac address='52:54:00:12:34:56'/>
          <source network='default'/>
          <target dev='vmltest0'/>
        </interface>
      </devices>
    </domain>
    """
}

/// Defines and starts a throwaway domain; the caller undefines it.
func startedTestDomain(_ connection: Connection, prefix: String) throws -> Domain {
    let domain = try connection.defineDomain(xml: testDomainXML(name: uniqueName(prefix)))
    try domain.start()
    return domain
}
