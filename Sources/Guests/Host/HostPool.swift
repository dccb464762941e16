import Foundation
import LabModel
import Libvirt
import VMLabSupport

/// What `vmlab hosts` says of one host of the pool.
public struct HostStatus: Sendable {
    public let host: HostSpec
    /// Why the host cannot be used (unreachable, no answer in time); nil when it answered.
    public let problem: String?
    public let hostname: String?
    public let freeMemoryBytes: UInt64?
    /// Running domains named vmlab-* on the host (of any vmlab home).
    public let guests: Int?
    /// On a pool host, the digests of the images uploaded complete into its storage pool.
    public var poolImages: [String]? = nil

    public var reachable: Bool { problem == nil }
}

/// A host the pool gave one lab instance: its connection, and what the instance takes of it.
public struct HostLease: Sendable {
    public let host: HostSpec
    public let connection: Connection
    let id: Int
    let guests: Int
    let memoryBytes: UInt64
}

/// The libvirt hosts of a pool (`HostPoolSpec`) as one process uses them: connections
/// opened on first use with a bounded wait, placement by free memory, and hosts found lost
/// skipped for the rest of the process.
///
/// Placement: a lab instance goes to the reachable host with the most free memory after its
/// reserve, less what this process has already placed there, among the hosts where it
/// fits: its VMs' memory within that, and its VMs within `max-guests` (counting this
/// process's placements, or the running vmlab domains if there are more). When every host
/// is full, `acquire` waits for a release; when none could ever fit, it says why.
public actor HostPool {
    public nonisolated let spec: HostPoolSpec
    public nonisolated let openTimeout: Duration
    private var connections: [String: Connection] = [:]
    /// Host name -> why it was given up on.
    private var lost: [String: String] = [:]
    private var placed: [Int: HostLease] = [:]
    private var nextLease = 0
    private var waiting: [CheckedContinuation<Void, Never>] = []
    /// Releases so far. A placement reads the hosts across suspension points, so a release
    /// can land while it looks; it waits only if none did, else it would wait for a release
    /// that already happened (and, with nothing else running, wait forever).
    private var releases = 0
    /// One placement at a time: the actor is reentrant at each libvirt call, and two
    /// placements that both read the hosts before either is recorded would pick the same one.
    private var placing = false
    private var queued: [CheckedContinuation<Void, Never>] = []
    /// Host name -> instances placed there so far, for the report of a batch.
    public private(set) var placements: [String: Int] = [:]

    public init(spec: HostPoolSpec, openTimeout: Duration = .seconds(10)) {
        self.spec = spec
        self.openTimeout = openTimeout
    }

    /// Each host's state, probed in parallel, each within `openTimeout`: a host that does
    /// not answer is reported as such, never waited on without end.
    public static func status(_ spec: HostPoolSpec, openTimeout: Duration = .seconds(10)) async -> [HostStatus] {
        await withTaskGroup(of: (Int, HostStatus).self) { group in
            for (index, host) in spec.hosts.enumerated() {
                group.addTask { (index, await probe(host, openTimeout: openTimeout)) }
            }
            var result: [(Int, HostStatus)] = []
            for await item in group { result.append(item) }
            return result.sorted { $0.0 < $1.0 }.map(\.1)
        }
    }

    static func probe(_ host: HostSpec, openTimeout: Duration) async -> HostStatus {
        do {
            return try await offPool {
                let connection = try Connection(uri: host.uri, openTimeout: openTimeout)
                defer { connection.close() }
                var status = HostStatus(host: host, problem: nil, hostname: try? connection.hostname(),
                                        freeMemoryBytes: try connection.nodeFreeMemoryBytes(),
                                        guests: try Self.runningGuests(connection))
                if let path = host.storage.poolPath {
                    status.poolImages = try HostVolumes(connection: connection, path: path).imagesPresent()
                }
                return status
            }
        } catch {
            return HostStatus(host: host, problem: unreachable(host, error), hostname: nil, freeMemoryBytes: nil, guests: nil)
        }
    }

    static func unreachable(_ host: HostSpec, _ error: any Error) -> String {
        "host \(host.name) (\(host.uri)) is not reachable: \(oneLine(error)); it is skipped"
    }

    private static func oneLine(_ error: any Error) -> String {
        String("\(error)".split(whereSeparator: \.isNewline).first ?? "").trimmingCharacters(in: .whitespaces)
    }

    static func runningGuests(_ connection: Connection) throws -> Int {
        try connection.allDomains().filter { $0.name.hasPrefix(Naming.prefix) && ((try? $0.isActive()) ?? false) }.count
    }

    /// Hosts given up on, with the reason.
    public var lostHosts: [String: String] { lost }

    /// Places an instance of `guests` VMs needing `memoryBytes` in all; see the type's note.
    public func acquire(guests: Int, memoryBytes: UInt64) async throws -> HostLease {
        while placing { await withCheckedContinuation { queued.append($0) } }
        placing = true
        defer {
            placing = false
            if !queued.isEmpty { queued.removeFirst().resume() }
        }
        while true {
            try Task.checkCancellation()
            let releasesBefore = releases
            var best: (host: HostSpec, connection: Connection, room: Int64)?
            var couldFitLater = false
            var reasons: [String] = []
            for host in spec.hosts where lost[host.name] == nil {
                let mine = placed.values.filter { $0.host.name == host.name }
                let myGuests = mine.reduce(0) { $0 + $1.guests }
                let myMemory = mine.reduce(UInt64(0)) { $0 + $1.memoryBytes }
                let connection: Connection, free: UInt64, running: Int
                do {
                    connection = try await self.connection(host)
                    (free, running) = try await offPool { (try connection.nodeFreeMemoryBytes(), try Self.runningGuests(connection)) }
                } catch {
                    markLost(host.name, reason: Self.unreachable(host, error))
                    continue
                }
                let room = Int64(free) - Int64(host.reserveMemoryBytes) - Int64(myMemory)
                let used = max(myGuests, running)
                if used + guests <= host.maxGuests, room >= Int64(memoryBytes) {
                    if best == nil || room > best!.room { best = (host, connection, room) }
                } else if !mine.isEmpty {
                    couldFitLater = true
                } else {
                    reasons.append("\(host.name): \(free >> 20) MiB free, \(host.reserveMemoryBytes >> 20) MiB reserved, "
                                   + "\(used) of \(host.maxGuests) guests")
                }
            }
            if let best {
                nextLease += 1
                let lease = HostLease(host: best.host, connection: best.connection, id: nextLease, guests: guests,
                                      memoryBytes: memoryBytes)
                placed[lease.id] = lease
                placements[best.host.name, default: 0] += 1
                return lease
            }
            if couldFitLater {
                if releases == releasesBefore { await withCheckedContinuation { waiting.append($0) } }
                continue
            }
            let lostText = lost.sorted { $0.key < $1.key }.map { "\n  " + $0.value }.joined()
            if reasons.isEmpty {
                throw VMLabError(.unavailable, "no host of the pool (\(spec.source)) is reachable:" + lostText)
            }
            throw VMLabError(.unavailable, "no host of the pool (\(spec.source)) has room for \(guests) VM\(guests == 1 ? "" : "s") "
                + "with \(memoryBytes >> 20) MiB: \(reasons.joined(separator: "; "))\(lostText); "
                + "raise max-guests or lower reserve-memory in the pool file, or add a host")
        }
    }

    /// Gives the lease's share of its host back.
    public func release(_ lease: HostLease) {
        placed[lease.id] = nil
        releases += 1
        let woken = waiting
        waiting = []
        for waiter in woken { waiter.resume() }
    }

    /// Whether the lease's host still answers: a fresh connection within a short timeout.
    /// A host that does not is marked lost (skipped from now on); true means lost.
    public func checkLost(_ lease: HostLease) async -> Bool {
        if lost[lease.host.name] != nil { return true }
        let status = await Self.probe(lease.host, openTimeout: .seconds(5))
        guard let problem = status.problem else { return false }
        markLost(lease.host.name, reason: problem)
        return true
    }

    private func markLost(_ name: String, reason: String) {
        guard lost[name] == nil else { return }
        lost[name] = reason
        connections[name]?.close()
        connections[name] = nil
        // Waiters may now fit elsewhere, or learn that nothing is left.
        let woken = waiting
        waiting = []
        for waiter in woken { waiter.resume() }
    }

    private func connection(_ host: HostSpec) async throws -> Connection {
        if let open = connections[host.name] { return open }
        let timeout = openTimeout
        let opened = try await offPool { try Connection(uri: host.uri, openTimeout: timeout) }
        if let raced = connections[host.name] {
            opened.close()
            return raced
        }
        connections[host.name] = opened
        return opened
    }
}
