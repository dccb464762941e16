import Foundation
import Guests
import LabModel
import LabStore
import Libvirt
import VMLabSupport

/// Brings labs up and down and runs their experiments. libvirt is the truth about what
/// runs; the store records what was created (before creating it) and what was measured.
public struct LabRunner: Sendable {
    public let home: VMLabHome
    public let store: Store
    public let connection: Connection
    public var bootTimeout: Duration = .seconds(300)
    public var progress: ProgressReporter
    static let baseline = "baseline"

    public init(home: VMLabHome, store: Store, connection: Connection, progress: @escaping ProgressReporter = { _ in }) {
        self.home = home
        self.store = store
        self.connection = connection
        self.progress = progress
    }

    /// Connects to libvirt at `uri` (see `LibvirtHost.uri`).
    public init(home: VMLabHome, store: Store, uri: String, progress: @escaping ProgressReporter = { _ in }) throws {
        self.init(home: home, store: store, connection: try LibvirtHost.connect(uri), progress: progress)
    }

    // MARK: start

    /// Creates networks, disks and guests, boots them, gives addresses, runs the setup
    /// steps and takes the baseline snapshot. On failure everything is removed again.
    /// `artifacts` (file name -> contents) are written to the paths the lab declares for them
    /// before the baseline snapshot: a grading replay starts from the student's files.
    /// `exclusive: false` lets a replay run beside a student's own instance of the lab.
    public func start(_ lab: LabSpec, image: BuiltImage, accelerator: Accelerator, student: String? = nil,
                      fixedParameters: [String: String] = [:], artifacts: [String: Data] = [:],
                      exclusive: Bool = true) async throws -> InstanceRecord {
        // One start of a lab at a time: the check below and the insert must not interleave.
        let labLock = exclusive ? try OwnerLock.acquire("lab-\(lab.name)", in: home.locks, what: "lab \(lab.name)") : nil
        defer { withExtendedLifetime(labLock) {} }
        if exclusive, let running = try store.activeInstances(lab: lab.name).first {
            throw VMLabError(.invalidState, "lab \(lab.name) is already started (instance \(running.id)); "
                + "use `vmlab lab reset \(lab.name)` for a clean slate or `vmlab lab stop \(lab.name)` first")
        }
        let instance = InstanceRecord(id: Naming.newInstanceID(), lab: lab.name, student: student,
                                      imageDigest: image.manifest.digest, fixedParameters: encodeJSON(fixedParameters),
                                      state: .starting, pid: getpid(), createdAt: Date(), stoppedAt: nil)
        // Held while starting, so `gc` leaves the half-made instance to us.
        let instanceLock = try lock(instance)
        defer { withExtendedLifetime(instanceLock) {} }
        try store.insertInstance(instance)
        progress("\(lab.name): starting instance \(instance.id) (\(lab.vms.count) VM\(lab.vms.count == 1 ? "" : "s"), \(accelerator.rawValue))")
        do {
            try await offPool { try self.provision(lab, instance: instance, image: image, accelerator: accelerator) }
            let session = try LabSession(lab: lab, instance: instance, runner: self)
            try await session.bootAll()
            if !lab.setup.isEmpty {
                progress("\(lab.name): setup (\(lab.setup.count) steps)")
                let values = try lab.plan(RunRequest(), studentValues: fixedParameters)[0].parameters
                try await session.execute(lab.setup, values: values, run: nil)
            }
            // Workspace artifacts reach the guests through the run's workspace instead.
            for artifact in lab.artifacts where !artifact.fromWorkspace {
                guard let data = artifacts[artifact.name] else { continue }
                try await session.agent(artifact.vm).install(data, at: artifact.path)
            }
            try await session.forEachVM { vm, domain in
                _ = try await offPool {
                    try domain.createSnapshot(name: Self.baseline, description: "vmlab baseline of \(lab.name)/\(vm.name)")
                }
            }
            try store.setInstanceState(instance.id, .ready)
            progress("\(lab.name): ready; baseline snapshot taken")
            return try store.instance(id: instance.id) ?? instance
        } catch {
            progress("\(lab.name): start \(error is CancellationError ? "interrupted" : "failed"); removing what was created")
            try? teardown(instance)
            throw error
        }
    }

    /// Networks, then per VM its overlay, extra disks and domain, each recorded first.
    private func provision(_ lab: LabSpec, instance: InstanceRecord, image: BuiltImage, accelerator: Accelerator) throws {
        let owner = instance.owner
        let tag = OwnerTag(owner: owner, home: try home.identity())
        let dir = instanceDirectory(instance.id)
        try store.record(.directory, dir.path, owner: owner)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)

        for definition in Self.networkDefinitions(lab, instance: instance.id, owner: tag) {
            try store.record(.network, definition.name, owner: owner)
            let network = try connection.defineNetwork(xml: definition.xml)
            try network.start()
        }
        for vm in lab.vms {
            let root = dir.appendingPathComponent("\(vm.name).qcow2")
            try store.record(.file, root.path, owner: owner)
            try Overlay.create(root, backing: image.disk)
            var disks = [DomainDefinition.Disk(path: root.path, target: "vda")]
            for (i, disk) in vm.disks.enumerated() {
                let file = dir.appendingPathComponent("\(vm.name)-\(disk.name).qcow2")
                try store.record(.file, file.path, owner: owner)
                try Subprocess.runBlocking(["qemu-img", "create", "-q", "-f", "qcow2", file.path, "\(disk.sizeBytes)"])
                disks.append(.init(path: file.path, target: Self.diskTarget(i + 1)))
            }
            let nics = vm.nics.enumerated().map { i, nic in
                DomainDefinition.Interface(network: Naming.labNetwork(instance: instance.id, network: nic.network),
                                           mac: Naming.mac(instance: instance.id, vm: vm.name, nic: i))
            }
            let name = Naming.labDomain(lab: lab.name, instance: instance.id, vm: vm.name)
            var definition = DomainDefinition(
                name: name, accelerator: accelerator, memoryMiB: vm.memoryMiB, vcpus: vm.vcpus,
                kernel: image.kernel.path, initrd: image.initrd.path,
                kernelArguments: GuestManager.kernelArguments(hostname: vm.name, extra: image.manifest.kernelArguments),
                disks: disks, interfaces: nics, owner: tag)
            definition.cpuset = vm.cpuset
            definition.consoleLog = Self.consoleLog(dir, vm: vm.name).path
            try store.record(.domain, name, owner: owner)
            _ = try connection.defineDomain(xml: definition.xml)
        }
    }

    /// The lab's networks as libvirt definitions, outside networks first: a NAT network
    /// names the outside bridge it translates to, which must exist when it starts.
    static func networkDefinitions(_ lab: LabSpec, instance: String, owner: OwnerTag) -> [NetworkDefinition] {
        let bridges = Dictionary(lab.networks.enumerated().map { ($1.name, Naming.bridge(instance: instance, index: $0)) },
                                 uniquingKeysWith: { a, _ in a })
        let definitions = lab.networks.map { net in
            var mode = NetworkDefinition.Mode.isolated
            switch (net.kind, net.address) {
            case (.outside, let address?): mode = .outside(address: address)
            case (.nat(let outside), let address?): mode = .nat(address: address, outsideBridge: bridges[outside] ?? "")
            default: break
            }
            return NetworkDefinition(name: Naming.labNetwork(instance: instance, network: net.name),
                                     bridge: bridges[net.name]!, owner: owner, mode: mode)
        }
        return definitions.filter { if case .outside = $0.mode { true } else { false } }
            + definitions.filter { if case .outside = $0.mode { false } else { true } }
    }

    /// The serial console log of a VM (written by virtlogd, which caps and rotates it).
    static func consoleLog(_ instanceDirectory: URL, vm: String) -> URL {
        instanceDirectory.appendingPathComponent("\(vm)-console.log")
    }

    /// vda, vdb, ... for disk index 0, 1, ...
    static func diskTarget(_ index: Int) -> String {
        "vd" + String(UnicodeScalar(UInt8(ascii: "a") + UInt8(index)))
    }

    func instanceDirectory(_ id: String) -> URL {
        home.instances.appendingPathComponent(id, isDirectory: true)
    }

    func artifactsDirectory(_ id: String, run: Int64) -> URL {
        home.root.appendingPathComponent("artifacts/\(id)/run-\(run)", isDirectory: true)
    }

    // MARK: reset, stop

    /// Reverts every VM to the baseline snapshot and waits for the agents.
    public func reset(_ lab: LabSpec, instance: InstanceRecord) async throws {
        let lock = try lock(instance)
        defer { withExtendedLifetime(lock) {} }
        let session = try LabSession(lab: lab, instance: try requireReady(instance), runner: self)
        try await session.revertAll()
    }

    /// Removes every object of the instance; its runs and measurements stay in the store.
    public func stop(_ instance: InstanceRecord) throws {
        let lock = try lock(instance)
        defer { withExtendedLifetime(lock) {} }
        try teardown(instance)
        progress("\(instance.lab): instance \(instance.id) stopped; nothing left in libvirt or on disk")
    }

    func teardown(_ instance: InstanceRecord) throws {
        try Cleanup(store: store, connection: connection).remove(owner: instance.owner)
        try store.setInstanceState(instance.id, .stopped)
    }

    /// The one-writer lock of an instance: a second process changing it gets `busy`.
    func lock(_ instance: InstanceRecord) throws -> OwnerLock {
        try OwnerLock.acquire(Naming.lock(owner: instance.owner)!, in: home.locks, what: "lab \(instance.lab)")
    }

    func requireReady(_ instance: InstanceRecord) throws -> InstanceRecord {
        guard instance.state == .ready else {
            throw VMLabError(.invalidState, "lab \(instance.lab) (instance \(instance.id)) is \(instance.state.rawValue), not ready; "
                + "stop it with `vmlab lab stop \(instance.lab)` and start it again")
        }
        return instance
    }

    // MARK: runs

    /// Runs an experiment once per plan, reverting to the baseline before each run unless
    /// the experiment says otherwise. Measurements are committed as they are taken.
    /// A failed run is recorded and the next one goes on; the result lists every run.
    /// `workspace` is the student's workspace that `copy-workspace` steps copy (nil: none).
    /// Each run keeps every VM's console output of the run as artifact `console-VM.log`.
    public func run(_ lab: LabSpec, instance: InstanceRecord, experiment: ExperimentSpec,
                    plans: [RunPlan], workspace: Workspace? = nil) async throws -> [RunRecord] {
        let lock = try lock(instance)
        defer { withExtendedLifetime(lock) {} }
        var session = try LabSession(lab: lab, instance: try requireReady(instance), runner: self)
        session.workspace = workspace
        var records: [RunRecord] = []
        for (index, plan) in plans.enumerated() {
            try Task.checkCancellation()
            let label = plan.parameters.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            progress("\(experiment.name) run \(index + 1)/\(plans.count): \(label)\(plan.repetition > 0 ? " (repeat \(plan.repetition + 1))" : "")")
            if experiment.revertBeforeRun { try await session.revertAll() }
            var run = try store.beginRun(instance: instance.id, experiment: experiment.name,
                                         parameters: plan.parameters, repetition: plan.repetition)
            let runID = run.id!
            var failure: String?
            let consoles = session.consoleOffsets()
            defer { session.keepConsoles(since: consoles, run: runID) }
            do {
                try await session.execute(experiment.steps, values: plan.parameters,
                                          run: (runID, experiment.name, plan, consoles))
            } catch is CancellationError {
                // Interrupted (Ctrl-C, SIGTERM): the run is recorded as such and nothing more runs.
                try store.finishRun(runID, error: "interrupted")
                throw CancellationError()
            } catch {
                failure = "\(error)"
                progress("\(experiment.name) run \(index + 1) failed: \(error)")
            }
            try store.finishRun(runID, error: failure)
            run.status = failure == nil ? .ok : .failed
            run.error = failure
            records.append(run)
        }
        return records
    }

    // MARK: gc

    /// What a killed runner left. A start that never became ready is removed with all it
    /// made; a ready lab whose run was interrupted is not dead: the run is marked failed and
    /// the lab's VMs go back to their baseline. Owners another process holds (a start or a
    /// run in progress, a `vm create`) are left alone. Removes (unless `dryRun`) and
    /// returns what belonged to no live owner.
    public func collectGarbage(dryRun: Bool = false) throws -> [Resource] {
        let cleanup = Cleanup(store: store, connection: connection)
        // Owners gc works on, locked so that nobody starts using them meanwhile.
        var claimed: [String: OwnerLock] = [:]
        func claim(_ owner: String) -> Bool {
            guard let name = Naming.lock(owner: owner) else { return true }
            if claimed[name] != nil { return true }
            guard let lock = (try? OwnerLock.tryAcquire(name, in: home.locks)) ?? nil else { return false }
            claimed[name] = lock
            return true
        }
        var doomed = Set<String>()
        for instance in try store.activeInstances() where instance.state == .starting && !instance.ownerIsAlive {
            if claim(instance.owner) { doomed.insert(instance.owner) }
        }
        let interrupted = try store.interruptedRuns().filter { claim("lab:\($0.instance)") }
        let live = Set(try store.guests().map { "guest:\($0.name)" } + store.activeInstances().map(\.owner))
            .subtracting(doomed)
        let records = try store.resources()
        let orphans = try Orphans(connection: connection, home: home).find(recorded: Set(records.map(\.name)))
        let garbage = (records + orphans).filter { !live.contains($0.owner) && claim($0.owner) }
        guard !dryRun else { return garbage }
        try cleanup.remove(garbage)
        for run in interrupted {
            let who = run.process.flatMap(ProcessIdentity.init).map { "pid \($0.pid)" } ?? "pid \(run.pid)"
            try store.finishRun(run.id!, error: "interrupted: the runner (\(who)) ended before the run did")
            if let instance = try store.instance(id: run.instance), instance.state == .ready {
                try revertToBaseline(instance)
                progress("\(instance.lab): interrupted run \(run.id!) marked failed; VMs back at the baseline")
            }
        }
        for owner in doomed { try store.setInstanceState(String(owner.dropFirst("lab:".count)), .stopped) }
        return garbage
    }

    /// Every VM of an instance back to its baseline snapshot (without waiting for agents).
    func revertToBaseline(_ instance: InstanceRecord) throws {
        for resource in try store.resources(owner: instance.owner) where resource.kind == .domain {
            guard let domain = try connection.lookupDomain(named: resource.name) else { continue }
            try domain.revert(to: try domain.snapshot(named: Self.baseline))
        }
    }
}

extension LabRunner {
    /// The domain of one VM of a started lab, or an error naming the lab's VMs.
    public func domain(of instance: InstanceRecord, vm: String) throws -> Domain {
        let name = Naming.labDomain(lab: instance.lab, instance: instance.id, vm: vm)
        guard let domain = try connection.lookupDomain(named: name) else {
            throw VMLabError(.notFound, "lab \(instance.lab) has no running VM '\(vm)' (domain \(name))")
        }
        return domain
    }

    /// The serial console of one VM of a started lab.
    public func console(of instance: InstanceRecord, vm: String) throws -> GuestConsole {
        GuestConsole(stream: try domain(of: instance, vm: vm).openConsole())
    }

    /// What libvirt says of each VM of an instance now ("running", "shut off", ... or
    /// "missing" when the domain is gone).
    public func vmStates(of instance: InstanceRecord, lab: LabSpec) -> [(vm: String, state: String)] {
        lab.vms.map { vm in
            let name = Naming.labDomain(lab: instance.lab, instance: instance.id, vm: vm.name)
            return (vm.name, (try? connection.lookupDomain(named: name)?.state().label) ?? "missing")
        }
    }

    /// The agent client of one VM of a started lab.
    public func agent(of instance: InstanceRecord, vm: String) throws -> GuestAgent {
        GuestAgent(guest: "\(instance.lab)/\(vm)", transport: LibvirtAgentTransport(domain: try domain(of: instance, vm: vm)))
    }
}
