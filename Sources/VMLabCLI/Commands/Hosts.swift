import ArgumentParser
import Foundation
import Guests
import LabModel
import VMLabSupport

/// `vmlab hosts`: the libvirt hosts of the pool, each probed within a bounded time.
struct Hosts: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the hosts of the pool (--hosts FILE or $VMLAB_HOME/hosts.yaml): reachable or not, free memory, guests, images.",
        discussion: """
            A pool file names libvirt hosts; grading replays and validation are placed on the one with the most \
            free memory after its reserve where the lab fits, and a host lost mid-batch has its replays run again \
            elsewhere. Every host must see the vmlab home (images, overlays, saved baselines) at the same path. Example:
              hosts:
                - name: lab-1
                  uri: qemu+tcp://10.0.0.11/system
                  reserve-memory: 2G    # left free (default 1G)
                  max-guests: 24        # lab VMs at once (default 16)
            Without a pool file, the one host is --connect (or $LIBVIRT_DEFAULT_URI, else qemu:///system).
            """)

    @Option(help: "Seconds to wait for each host to answer.") var timeout: Int = 10
    @Option(help: "table or json.") var format: OutputFormat = .table
    @OptionGroup var pool: PoolOptions
    @OptionGroup var global: GlobalOptions

    func validate() throws {
        guard (1...300).contains(timeout) else { throw ValidationError("--timeout \(timeout): give 1 to 300 seconds") }
    }

    struct Row: Encodable {
        var name: String
        var uri: String
        var reachable: Bool
        var problem: String?
        var hostname: String?
        var freeMemoryMiB: UInt64?
        var reserveMemoryMiB: UInt64
        var guests: Int?
        var maxGuests: Int
        /// Images built in the vmlab home, which every host reads at the same path.
        var images: [String]
    }

    func run() async throws {
        let spec: HostPoolSpec
        if let file = pool.file(global) {
            spec = try HostPoolSpec.load(file)
        } else {
            spec = HostPoolSpec(hosts: [HostSpec(name: "default", uri: global.uri)], source: "--connect")
        }
        let images = ImageStore(home: global.home).all().map { "\($0.manifest.name)@\($0.manifest.digest.prefix(12))" }.sorted()
        let statuses = await HostPool.status(spec, openTimeout: .seconds(Int64(timeout)))
        let rows = statuses.map { s in
            Row(name: s.host.name, uri: s.host.uri, reachable: s.reachable, problem: s.problem, hostname: s.hostname,
                freeMemoryMiB: s.freeMemoryBytes.map { $0 >> 20 }, reserveMemoryMiB: s.host.reserveMemoryBytes >> 20,
                guests: s.guests, maxGuests: s.host.maxGuests, images: s.reachable ? images : [])
        }
        for s in statuses where !s.reachable { Output.warn(s.problem ?? "") }
        switch format {
        case .json: try Output.json(rows)
        case .table:
            Output.table(["HOST", "URI", "STATE", "FREE", "RESERVE", "GUESTS", "IMAGES"], rows.map { r in
                [r.name, r.uri, r.reachable ? "up (\(r.hostname ?? "?"))" : "unreachable",
                 r.freeMemoryMiB.map { "\($0) MiB" } ?? "-", "\(r.reserveMemoryMiB) MiB",
                 r.guests.map { "\($0)/\(r.maxGuests)" } ?? "-/\(r.maxGuests)",
                 r.reachable ? (r.images.isEmpty ? "none built" : r.images.joined(separator: " ")) : "-"]
            })
        }
        if statuses.allSatisfy({ !$0.reachable }) {
            throw VMLabError(.unavailable, "no host of \(spec.source) is reachable")
        }
    }
}
