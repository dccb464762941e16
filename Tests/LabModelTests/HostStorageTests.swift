import Foundation
@testable import LabModel
import Testing
@testable import VMLabSupport

/// How images reach a host: the default by URI (a daemon on this machine shares the home,
/// any other gets a storage pool) and hosts.yaml's `storage` and `pool-path`.
@Suite("Host storage")
struct HostStorageTests {
    @Test(arguments: [
        ("qemu:///system", true), ("qemu:///session", true), ("test:///default", true), ("qemu+unix:///system", true),
        ("qemu://localhost/system", true), ("qemu+tcp://198.18.1.1/system", false), ("qemu+ssh://root@lab-1/system", false),
        ("qemu+tcp://lab-1:16509/system", false), ("qemu+tls://[2001:db8::1]/system", false), ("qemu+ssh://u@h/system?keyfile=/k", false),
    ])
    func localURIsShareTheHome(uri: String, local: Bool) {
        #expect(HostStorage.isLocal(uri) == local, "\(uri)")
        #expect(HostStorage.default(for: uri) == (local ? .shared : .pool(path: HostStorage.defaultPoolPath)))
    }

    @Test func readsStorageAndPoolPath() throws {
        let pool = try HostPoolSpec.parse("""
            hosts:
              - {name: a, uri: "qemu+tcp://198.18.1.1/system"}
              - {name: b, uri: "qemu+tcp://198.18.1.2/system", storage: shared}
              - {name: c, uri: "qemu:///system"}
              - {name: d, uri: "qemu:///session", storage: pool}
              - {name: e, uri: "qemu+ssh://lab-5/system", pool-path: /srv/vmlab}
            """, file: "hosts.yaml")
        #expect(pool.hosts.map(\.storage) == [.pool(path: "/var/lib/libvirt/vmlab"), .shared, .shared,
                                              .pool(path: "/var/lib/libvirt/vmlab"), .pool(path: "/srv/vmlab")])
    }

    @Test func badStorageIsReportedWithItsLine() {
        #expect(HostPoolSpecTests.problems("""
            hosts:
              - {name: a, uri: "qemu+tcp://h/system", storage: nfs}
              - {name: b, uri: "qemu+tcp://i/system", storage: shared, pool-path: /srv}
              - {name: c, uri: "qemu+tcp://j/system", pool-path: srv/../x}
            """) == [
            "hosts.yaml:2: hosts[0].storage: 'nfs' is not a storage mode; use shared (the host sees this vmlab home at the same path) or pool (images uploaded through libvirt)",
            "hosts.yaml:3: hosts[1].pool-path: is for storage: pool; a shared host uses the vmlab home's own paths",
            "hosts.yaml:4: hosts[2].pool-path: 'srv/../x' must be an absolute folder path on the host, without ..",
        ])
    }
}
