import Foundation
import Guests
import LabModel
import LabStore
import Libvirt
import VMLabSupport

/// A ready (or starting) lab instance with its libvirt handles: executes steps on its VMs
/// and records each as an event.
struct LabSession: Sendable {
    let lab: LabSpec
    let instance: InstanceRecord
    let runner: LabRunner
    let domains: [String: Domain]
    /// The student's workspace for `copy-workspace` steps (nil: none given).
    var workspace: Workspace?
    /// VMs frozen by steps of this session and not yet seen thawed.
    let frozen = FrozenGuests()

    /// The run a step belongs to, for measurements and artifacts (nil during setup), and
    /// where each VM's console log stood when it began.
    typealias RunContext = (id: Int64, experiment: String, plan: RunPlan, consoles: [String: UInt64])

    /// The most of a VM's console kept per run (its end).
    static let maxRunConsoleBytes = 1 << 20

    init(lab: LabSpec, instance: InstanceRecord, runner: LabRunner) throws {
        self.lab = lab
        self.instance = instance
        self.runner = runner
        var domains: [String: Domain] = [:]
        for vm in lab.vms {
            let name = Naming.labDomain(lab: lab.name, instance: instance.slot, vm: vm.name)
            guard let domain = try runner.connection.lookupDomain(named: name) else {
                throw VMLabError(.notFound, "lab \(lab.name): VM \(vm.name) (domain \(name)) is gone from libvirt; "
                    + "stop the lab with `vmlab lab stop \(lab.name)` and start it again")
            }
            domains[vm.name] = domain
        }
        self.domains = domains
    }

    func domain(_ vm: String) throws -> Domain {
        guard let d = domains[vm] else { throw VMLabError(.notFound, "lab \(lab.name) has no VM '\(vm)'") }
        return d
    }

    func agent(_ vm: String) throws -> GuestAgent {
        GuestAgent(guest: "\(lab.name)/\(vm)", transport: LibvirtAgentTransport(domain: try domain(vm)))
    }

    /// Runs `body` for every VM concurrently.
    func forEachVM(_ body: @escaping @Sendable (VMSpec, Domain) async throws -> Void) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for vm in lab.vms {
                let domain = try self.domain(vm.name)
                group.addTask { try await body(vm, domain) }
            }
            try await group.waitForAll()
        }
    }

    // MARK: boot

    /// Starts every VM, waits for the agents, gives static addresses and formats disks.
    func bootAll() async throws {
        let started = ContinuousClock.now
        try await forEachVM { vm, domain in
            do { try await offPool { try domain.start() } } catch where "\(error)".contains("/var/lib/libvirt/dnsmasq") {
                // A NIC on an addressed (outside, nat) network: libvirt keeps its state there.
                throw VMLabError(.unavailable, "\(vm.name) did not start: \(error); libvirtd's host needs the folder "
                    + "/var/lib/libvirt/dnsmasq for outside and nat networks (`sudo scripts/setup.sh` makes it)")
            }
            try await self.afterBoot(vm)
            let fs = vm.disks.enumerated().filter { $0.element.filesystem != nil }
            for (i, disk) in fs {
                let device = "/dev/\(LabRunner.diskTarget(i + 1))"
                let command = disk.filesystem == "swap" ? "mkswap \(device)" : "mkfs -t \(disk.filesystem!) -q \(device) </dev/null"
                let result = try await self.agent(vm.name).shell(command, timeout: .seconds(300))
                guard result.exitCode == 0 else {
                    throw VMLabError(.failed, "formatting disk \(disk.name) of \(vm.name) failed: \(result.stderrText.suffix(300))")
                }
            }
        }
        runner.progress(String(format: "\(lab.name): all VMs answer (%.1f s)", (ContinuousClock.now - started).seconds))
    }

    /// After any boot: wait for the agent, then bring the NICs up with their addresses.
    func afterBoot(_ vm: VMSpec) async throws {
        let agent = try self.agent(vm.name)
        try await agent.waitUntilReady(timeout: runner.bootTimeout)
        var commands: [String] = []
        for (i, nic) in vm.nics.enumerated() {
            if let address = nic.address { commands.append("ip addr replace \(address) dev eth\(i)") }
            commands.append("ip link set eth\(i) up")
            if nic.address != nil, let route = lab.outsideRoute(for: nic) { commands.append("ip route replace \(route) dev eth\(i)") }
        }
        guard !commands.isEmpty else { return }
        let result = try await agent.shell(commands.joined(separator: " && "), timeout: .seconds(30))
        guard result.exitCode == 0 else {
            throw VMLabError(.failed, "configuring the network of \(vm.name) failed: \(result.stderrText.suffix(300))")
        }
    }

    /// Back to the baseline snapshot on every VM, agents answering.
    func revertAll() async throws {
        let started = ContinuousClock.now
        try await forEachVM { vm, domain in
            try await offPool { try domain.revert(to: try domain.snapshot(named: LabRunner.baseline)) }
            try await self.agent(vm.name).waitUntilReady(timeout: self.runner.bootTimeout)
        }
        runner.progress(String(format: "\(lab.name): reverted to baseline (%.1f s)", (ContinuousClock.now - started).seconds))
    }

    // MARK: steps

    /// Runs steps in order, substituting parameters; the first failing step ends the list.
    /// Whatever happens, a VM a step froze is thawed before this returns.
    func execute(_ steps: [Step], values: [String: String], run: RunContext?) async throws {
        do {
            for step in steps {
                try await execute(try step.substituted(values), run: run)
            }
        } catch {
            try? await thawWhatWasFrozen()
            throw error
        }
        try await thawWhatWasFrozen()
    }

    /// Runs one (already substituted) step and records it as an event. Its values are
    /// checked first by the same code that checked them when the lab was loaded.
    func execute(_ step: Step, run: RunContext?) async throws {
        let started = Date()
        let clock = ContinuousClock.now
        do {
            do { try step.body.check() } catch {
                throw VMLabError(.invalidInput, "\(step.kind) \(error.field.map { "\($0) " } ?? "")of \(step.detail): \(error.message)")
            }
            let output = try await step.body.run(in: SessionRuntime(session: self, run: run))
            try record(step, started: started, seconds: (ContinuousClock.now - clock).seconds, ok: true, output: output, run: run)
        } catch {
            try? record(step, started: started, seconds: (ContinuousClock.now - clock).seconds, ok: false,
                        output: "\(error)", run: run)
            throw error
        }
    }

    private func record(_ step: Step, started: Date, seconds: Double, ok: Bool, output: String?, run: RunContext?) throws {
        try runner.store.recordEvent(EventRecord(
            id: nil, instance: instance.id, run: run?.id, kind: step.kind, vm: step.vms.first,
            detail: step.detail, startedAt: started, seconds: seconds, ok: ok,
            output: output.map { String($0.suffix(2000)) }))
    }

    // MARK: consoles

    func consoleLog(_ vm: String) -> URL {
        LabRunner.consoleLog(runner.instanceDirectory(instance.id), vm: vm)
    }

    /// On a pool host, the console log volume of a VM (see `HostVolumes.consoleVolume`).
    func consoleVolume(_ vm: String) throws -> (volumes: HostVolumes, name: String)? {
        guard let volumes = runner.volumes else { return nil }
        return (volumes, HostVolumes.consoleVolume(home: HostVolumes.homeTag(try runner.home.identity()), instance: instance.id, vm: vm))
    }

    /// Where every VM's console log ends now: a run's console output starts there.
    func consoleOffsets() -> [String: UInt64] {
        Dictionary(lab.vms.map { vm in
            if let log = try? consoleVolume(vm.name) { return (vm.name, (try? log.volumes.currentLength(log.name)) ?? 0) }
            return (vm.name, fileSize(consoleLog(vm.name)))
        }, uniquingKeysWith: { a, _ in a })
    }

    /// A VM's console output since `offset` (its last `maxBytes`). virtlogd rotates a log
    /// that grows past its cap: a file now shorter than the offset is read from its start.
    func consoleOutput(of vm: String, since offset: UInt64, maxBytes: Int) throws -> Data {
        guard lab.vm(vm) != nil else { throw VMLabError(.notFound, "lab \(lab.name) has no VM '\(vm)'") }
        if let log = try consoleVolume(vm) { return try log.volumes.tail(log.name, since: offset, maxBytes: maxBytes) }
        let url = consoleLog(vm)
        guard let handle = try? FileHandle(forReadingFrom: url) else { return Data() }
        defer { try? handle.close() }
        let size = try handle.seekToEnd()
        let start = max(size < offset ? 0 : offset, size > UInt64(maxBytes) ? size - UInt64(maxBytes) : 0)
        try handle.seek(toOffset: start)
        return try handle.read(upToCount: maxBytes) ?? Data()
    }

    /// Keeps each VM's console output of a run among the run's artifacts (`console-VM.log`).
    func keepConsoles(since offsets: [String: UInt64], run: Int64) {
        let dir = runner.artifactsDirectory(instance.id, run: run)
        for vm in lab.vms {
            guard let data = try? consoleOutput(of: vm.name, since: offsets[vm.name] ?? 0, maxBytes: Self.maxRunConsoleBytes),
                  !data.isEmpty else { continue }
            try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            try? data.write(to: dir.appendingPathComponent("console-\(vm.name).log"))
        }
    }

    /// The error for a VM whose kernel panicked (pvpanic), or nil when it did not.
    func panicError(_ vm: String) -> VMLabError? {
        guard let domain = domains[vm], (try? domain.hasCrashed()) == true else { return nil }
        let events = KernelEvents.find(in: (try? consoleOutput(of: vm, since: 0, maxBytes: 1 << 20)) ?? Data())
        return VMLabError(.failed, "VM \(vm) panicked (its kernel crashed and vmlab stopped it)"
            + (events.firstLine.map { ": \($0)" } ?? "") + "; the run's console log is kept as artifact console-\(vm).log")
    }

    func spec(_ vm: String) throws -> VMSpec {
        guard let s = lab.vm(vm) else { throw VMLabError(.notFound, "lab \(lab.name) has no VM '\(vm)'") }
        return s
    }
}
