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
            elsewhere. A shared host sees the vmlab home (images, overlays, saved baselines) at the same path; \
            a pool host gets each image uploaded once into its libvirt storage pool vmlab-images, with the \
            overlays as volumes there (it starts labs cold). Example:
              hosts:
                - name: lab-1
                  uri: qemu+tcp://10.0.0.11/system
                  reserve-memory: 2G    # left free (default 1G)
                  max-guests: 24        # lab VMs at once (default 16)
                  storage: pool         # shared | pool (default: shared for a local URI, else pool)
                  pool-path: /var/lib/libvirt/vmlab   # the pool's folder on the host (the default)
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
        /// shared or pool (see `HostStorage`).
        var storage: String
        /// Images the host can use now, as NAME@DIGEST12: on a shared host, those built in the
        /// vmlab home; on a pool host, those uploaded complete into its storage pool (NAME is ?
        /// for an image this home no longer has).
        var images: [String]
    }

    func run() async throws {
        let spec: HostPoolSpec
        if let file = pool.file(global) {
            spec = try HostPoolSpec.load(file)
        } else {
            spec = HostPoolSpec(hosts: [HostSpec(name: "default", uri: global.uri)], source: "--connect")
        }
        let built = ImageStore(home: global.home).all()
        let images = built.map { "\($0.manifest.name)@\($0.manifest.digest.prefix(12))" }.sorted()
        let names = Dictionary(built.map { ($0.manifest.digest, $0.manifest.name) }, uniquingKeysWith: { a, _ in a })
        func present(_ s: HostStatus) -> [String] {
            guard s.reachable else { return [] }
            guard let digests = s.poolImages else { return images }
            return digests.map { "\(names[$0] ?? "?")@\($0.prefix(12))" }.sorted()
        }
        let statuses = await HostPool.status(spec, openTimeout: .seconds(Int64(timeout)))
        let rows = statuses.map { s in
            Row(name: s.host.name, uri: s.host.uri, reachable: s.reachable, problem: s.problem, hostname: s.hostname,
                freeMemoryMiB: s.freeMemoryBytes.map { $0 >> 20 }, reserveMemoryMiB: s.host.reserveMemoryBytes >> 20,
                guests: s.guests, maxGuests: s.host.maxGuests, storage: s.host.storage.label, images: present(s))
        }
        for s in statuses where !s.reachable { Output.warn(s.problem ?? "") }
        switch format {
        case .json: try Output.json(rows)
        case .table:
            Output.table(["HOST", "URI", "STATE", "FREE", "RESERVE", "GUESTS", "STORAGE", "IMAGES"], rows.map { r in
                [r.name, r.uri, r.reachable ? "up (\(r.hostname ?? "?"))" : "unreachable",
                 r.freeMemoryMiB.map { "\($0) MiB" } ?? "-", "\(r.reserveMemoryMiB) MiB",
                 r.guests.map { "\($0)/\(r.maxGuests)" } ?? "-/\(r.maxGuests)", r.storage,
                 r.reachable ? (r.images.isEmpty ? (r.storage == "pool" ? "none uploaded" : "none built")
                                                 : r.images.joined(separator: " ")) : "-"]
            })
        }
        if statuses.allSatisfy({ !$0.reachable }) {
            throw VMLabError(.unavailable, "no host of \(spec.source) is reachable")
        }
    }
}
