import Foundation
@testable import LabModel
import Testing
@testable import VMLabSupport

/// Guards hosts.yaml: defaults for the limits, sizes read like lab files, and every problem
/// (missing or duplicate names and URIs, bad limits, unknown keys) with its file and line.
@Suite("Host pool file")
struct HostPoolSpecTests {
    static func problems(_ text: String) -> [String] {
        do {
            _ = try HostPoolSpec.parse(text, file: "hosts.yaml")
            return []
        } catch let error as SpecErrors {
            return error.errors.map(\.description)
        } catch {
            return ["\(error)"]
        }
    }

    @Test func readsHostsInOrderWithDefaults() throws {
        let pool = try HostPoolSpec.parse("""
            hosts:
              - name: a
                uri: qemu+tcp://198.18.1.1/system
                reserve-memory: 2G
                max-guests: 3
              - {name: b, uri: "qemu:///system"}
            """, file: "hosts.yaml")
        #expect(pool.hosts == [
            HostSpec(name: "a", uri: "qemu+tcp://198.18.1.1/system", reserveMemoryBytes: 2 << 30, maxGuests: 3),
            HostSpec(name: "b", uri: "qemu:///system", reserveMemoryBytes: HostSpec.defaultReserve,
                     maxGuests: HostSpec.defaultMaxGuests),
        ])
        #expect(pool.source == "hosts.yaml")
    }

    @Test func reportsEveryProblemWithItsLine() {
        #expect(Self.problems("""
            hosts:
              - name: a
                uri: qemu+tcp://x/system
              - name: a
                uri: not a uri
                max-guests: 0
              - name: Bad_Name
                uri: qemu+tcp://x/system
                reserve-memory: lots
                colour: red
            """) == [
            "hosts.yaml:6: hosts[1].max-guests: 0 is out of range 1...4096",
            "hosts.yaml:4: hosts[1].name: a is also the name of hosts[0]; give each host its own name",
            "hosts.yaml:5: hosts[1].uri: 'not a uri' is not a libvirt URI (qemu:///system, qemu+tcp://HOST/system, qemu+ssh://USER@HOST/system)",
            "hosts.yaml:9: hosts[2].reserve-memory: expected a size like 512M or 2G, got 'lots'",
            "hosts.yaml:10: hosts[2].colour: unknown key (known keys here: max-guests, name, pool-path, reserve-memory, storage, uri)",
            "hosts.yaml:7: hosts[2].name: 'Bad_Name' is not a usable host name (lowercase letters, digits and -, starting with a letter, at most 40)",
            "hosts.yaml:8: hosts[2].uri: hosts[0] already names qemu+tcp://x/system; list each host once",
        ])
    }

    @Test func aPoolNamesAtLeastOneHost() {
        #expect(Self.problems("hosts: []\n") == ["hosts.yaml:1: hosts: lists no hosts; name at least one (a libvirt uri each)"])
        #expect(Self.problems("pool: x\n") == [
            "hosts.yaml:1: hosts: is required: a list of hosts, each with a name and a libvirt uri",
            "hosts.yaml:1: pool: unknown key (known keys here: hosts)",
        ])
        #expect(Self.problems("hosts:\n  - uri: qemu:///system\n") == ["hosts.yaml:2: hosts[0].name: is required"])
    }
}
