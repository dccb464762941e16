import Foundation
import Testing
import Libvirt

@Suite("Connection")
struct ConnectionTests {
    @Test func opensAndDescribesTheHost() throws {
        let connection = try openTestConnection()
        #expect(try connection.uri() == testURI)
        #expect(try !connection.hostname().isEmpty)
        #expect(try connection.capabilitiesXML().contains("<capabilities>"))
        #expect(try connection.libvirtVersion() >= 1_000_000)
        #expect(try connection.nodeFreeMemoryBytes() > 0)
    }

    @Test func closeIsIdempotentAndLaterCallsThrow() throws {
        let connection = try openTestConnection()
        connection.close()
        connection.close()
        let error = try #require(throws: LibvirtError.self) { try connection.uri() }
        #expect(error.message.contains("closed"))
        // A closed connection proves nothing about absence: the lookup throws, never nil.
        #expect(throws: LibvirtError.self) { try connection.lookupDomain(named: "test") }
    }

    @Test func badURIThrows() throws {
        let error = try #require(throws: LibvirtError.self) {
            try Connection(uri: "test:///")
        }
        #expect(error.message.contains("test:///default"))
    }

    /// A daemon that takes the connection and never answers (hung, or stopped with SIGSTOP)
    /// costs the open timeout, not a wait without end.
    @Test func aDaemonThatNeverAnswersIsGivenUpOn() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("vmlab-silent-\(getpid())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("libvirt-sock").path
        let listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        try #require(listener >= 0)
        defer { close(listener) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, byte) in path.utf8.enumerated() { raw[i] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        try #require(bound == 0 && listen(listener, 4) == 0)

        let started = ContinuousClock.now
        let error = try #require(throws: LibvirtError.self) {
            try Connection(uri: "qemu+unix:///system?socket=\(path)", openTimeout: .seconds(1))
        }
        #expect(ContinuousClock.now - started < .seconds(10))
        #expect(error.message.contains("did not answer within 1 s"))
    }

    @Test func findsTheBuiltInDomain() throws {
        let connection = try openTestConnection()
        let domain = try connection.domain(named: "test")
        #expect(domain.name == "test")
        #expect(try domain.state() == .running)
        #expect(try domain.isActive())
        #expect(try domain.isPersistent())
        #expect(try domain.uuidString().count == 36)
        #expect(try domain.xmlDescription().contains("<name>test</name>"))
        #expect(try connection.lookupDomain(named: "test")?.name == "test")
        #expect(try connection.allDomains().contains { $0.name == "test" })
        let info = try domain.info()
        #expect(info.state == .running)
        #expect(info.vcpus >= 1)
        #expect(info.maxMemoryKiB >= info.memoryKiB)
    }

    @Test func missingDomainIsNotFoundAndNamed() throws {
        let connection = try openTestConnection()
        let missing = uniqueName("vmlab-missing")
        let error = try #require(throws: LibvirtError.self) { try connection.domain(named: missing) }
        #expect(error.isNotFound)
        #expect(!error.isAgentUnresponsive)
        #expect(error.message.contains(missing))
        #expect(error.description.contains(missing))
        #expect(try connection.lookupDomain(named: missing) == nil)
    }

    @Test func missingNetworkIsNotFound() throws {
        let connection = try openTestConnection()
        let missing = uniqueName("vmlab-missing-net")
        let error = try #require(throws: LibvirtError.self) { try connection.network(named: missing) }
        #expect(error.isNotFound)
        #expect(error.message.contains(missing))
        #expect(try connection.lookupNetwork(named: missing) == nil)
    }

    @Test(arguments: [
        "",
        "<domain",
        "<domain type='test'><name>no-memory</name></domain>",
        "<domain type='no-such-type'><name>x</name><memory>1024</memory><os><type>hvm</type></os></domain>",
    ])
    func badDomainXMLThrows(xml: String) throws {
        let connection = try openTestConnection()
        let error = try #require(throws: LibvirtError.self) { try connection.defineDomain(xml: xml) }
        #expect(!error.message.isEmpty)
        #expect(!error.isNotFound)
    }

    @Test func badNetworkXMLThrows() throws {
        let connection = try openTestConnection()
        let error = try #require(throws: LibvirtError.self) { try connection.defineNetwork(xml: "<network><bogus") }
        #expect(!error.message.isEmpty)
    }
}
