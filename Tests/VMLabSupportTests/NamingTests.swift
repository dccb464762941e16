import Testing
@testable import VMLabSupport

/// Guards the names vmlab accepts for guests and snapshots and the libvirt names it derives.
@Suite("Naming")
struct NamingTests {
    @Test(arguments: ["a", "web", "web-1", "a1", "db-primary-2", String(repeating: "a", count: 40)])
    func validNames(_ name: String) {
        #expect(Naming.isValidName(name))
    }

    @Test(arguments: ["", "1web", "-web", "Web", "wEb", "web_1", "web.1", "web 1", "wéb", "web/1",
                      String(repeating: "a", count: 41)])
    func invalidNames(_ name: String) {
        #expect(!Naming.isValidName(name))
    }

    @Test func guestDomainIsPrefixed() {
        #expect(Naming.prefix == "vmlab-")
        #expect(Naming.guestDomain("web") == "vmlab-vm-web")
        #expect(Naming.guestDomain("db-1").hasPrefix(Naming.prefix))
    }

    /// gc takes a folder for an instance's only when its name is an id `newInstanceID` could make.
    @Test func instanceIDsAreRecognisedExactly() {
        for _ in 0..<100 { #expect(Naming.isInstanceID(Naming.newInstanceID())) }
        for name in ["", "1a2b3c4", "1a2b3c4d5", "1A2B3C4D", "1a2b3c4g", "../1a2b3", "1a2b 3c4", "１a2b3c4d"] {
            #expect(!Naming.isInstanceID(name), "\(name)")
        }
    }
}
