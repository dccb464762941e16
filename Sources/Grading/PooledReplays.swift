import Foundation
import Guests
import LabModel
import Runner
import VMLabSupport

/// Grading replays spread over a host pool: each replay is placed on a host (`HostPool`),
/// runs there in fresh guests, and gives the host back. A replay that fails because its
/// host was lost (libvirtd gone, the connection dropped: a fresh connection no longer
/// opens) runs again from the start on another host, so a batch ends with every student
/// graded once, whatever host each replay ran on. A replay that fails on a host that still
/// answers is the student's result, as on a single host.
public struct PooledReplays: Sendable {
    public let coursework: Coursework
    public let pool: HostPool

    public init(coursework: Coursework, pool: HostPool) {
        self.coursework = coursework
        self.pool = pool
    }

    /// What an instance of `lab` takes of a host: its VMs and their memory.
    public static func needs(_ lab: LabSpec) -> (guests: Int, memoryBytes: UInt64) {
        (lab.vms.count, UInt64(lab.vms.reduce(0) { $0 + max($1.memoryMiB, 0) }) << 20)
    }

    /// Runs `body` with the coursework of a host the pool placed `lab` on; when the host is
    /// found lost after a failure (a thrown error, or one `failed` says is a failure), it
    /// runs again on another host. Throws when no host is left.
    public func onSomeHost<T: Sendable>(_ lab: LabSpec, what: String, failed: @Sendable (T) -> Bool = { _ in false },
                                        _ body: @Sendable (Coursework, HostLease) async throws -> T) async throws -> T {
        let needs = Self.needs(lab)
        while true {
            let lease = try await pool.acquire(guests: needs.guests, memoryBytes: needs.memoryBytes)
            let here = Coursework(runner: coursework.runner.on(lease.connection, host: lease.host), catalog: coursework.catalog)
            here.runner.progress("\(what) placed on host \(lease.host.name)")
            let result: Result<T, any Error>
            do { result = .success(try await body(here, lease)) } catch { result = .failure(error) }
            await pool.release(lease)
            let broke: Bool
            switch result {
            case .success(let value): broke = failed(value)
            case .failure(let error): broke = !(error is CancellationError)
            }
            if broke, await pool.checkLost(lease) {
                let reason = await pool.lostHosts[lease.host.name] ?? "it no longer answers"
                here.runner.progress("\(what): host \(lease.host.name) lost (\(reason)); running it again on another host")
                continue
            }
            return try result.get()
        }
    }

    /// One replay (see `Coursework.replay`) on a host of the pool.
    public func replay(_ request: ReplayRequest, lab: LabSpec, image: BuiltImage,
                       accelerator: Accelerator) async throws -> ReplayOutcome {
        try await onSomeHost(lab, what: "replay \(request.checkID)", failed: { $0.error != nil }) { here, _ in
            try await here.replay(request, lab: lab, image: image, accelerator: accelerator)
        }
    }
}
