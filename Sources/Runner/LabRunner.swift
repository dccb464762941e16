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
    /// The URI `connection` reaches, recorded in the instances this runner starts, so that
    /// `gc` on another host leaves them alone (nil: unknown, matches any).
    public var host: String?
    /// How images and disks reach the host (`HostStorage`): files under the home, or volumes
    /// of vmlab's storage pool there, the image uploaded once.
    public var storage: HostStorage = .shared
    static let baseline = "baseline"

    public init(home: VMLabHome, store: Store, connection: Connection, progress: @escaping ProgressReporter = { _ in }) {
        self.home = home
        self.store = store
        self.connection = connection
        self.progress = progress
    }

    /// Connects to libvirt at `uri` (see `LibvirtHost.uri`); its storage is the URI's
    /// default (`HostStorage.default(for:)`) unless `storage` says otherwise.
    public init(home: VMLabHome, store: Store, uri: String, storage: HostStorage? = nil,
                progress: @escaping ProgressReporter = { _ in }) throws {
        self.init(home: home, store: store, connection: try LibvirtHost.connect(uri), progress: progress)
        self.storage = storage ?? HostStorage.default(for: uri)
    }

    /// vmlab's storage pool on the host, for a pool host; nil for a shared one.
    var volumes: HostVolumes? {
        storage.poolPath.map { HostVolumes(connection: connection, path: $0, locks: home.locks) }
    }

    /// Throws, saying why, when the host keeps the instance's disks in its storage pool:
    /// `what` reads or copies them as files of this machine.
    func requireSharedStorage(_ what: String) throws {
        guard case .pool = storage else { return }
        throw VMLabError(.unavailable, "\(what) works on disks that are files of this machine; on host \(host ?? "?") "
            + "(storage: pool) a lab's disks are volumes of its storage pool; run this lab on a shared host "
            + "(storage: shared in hosts.yaml, or the local libvirtd)")
    }

    // MARK: start

    /// Whether starts use saved baselines (`BaselineCache`): restore one when a free slot
    /// matches, else start cold and save one. Off, every start boots and runs setup.
    public var useBaselineCache = true

    /// Creates networks, disks and guests, boots them, gives addresses, runs the setup
    /// steps and takes the baseline snapshot; or, when a saved baseline matches, restores
    /// the guests as they were after setup instead. On failure everything is removed again.
    /// `artifacts` (file name -> contents) are written to the paths the lab declares for them
    /// before the baseline snapshot: a grading replay starts from the student's files.
    /// `exclusive: false` lets a replay run beside a student's own instance of the lab.
    /// `workspace` holds the kernels and initrds VMs with `boot:` boot (checked before
    /// anything is created, then copied into the instance folder).
    public func start(_ lab: LabSpec, image: BuiltImage, accelerator: Accelerator, student: String? = nil,
                      fixedParameters: [String: String] = [:], artifacts: [String: Data] = [:],
                      exclusive: Bool = true, workspace: Workspace? = nil) async throws -> InstanceRecord {
        // A file that is no kernel fails here, naming it, with nothing created yet.
        try BootFiles.check(lab, workspace: workspace)
        // One start of a lab at a time: the check below and the insert must not interleave.
        let labLock = exclusive ? try OwnerLock.acquire("lab-\(lab.name)", in: home.locks, what: "lab \(lab.name)") : nil
        defer { withExtendedLifetime(labLock) {} }
        if exclusive, let running = try store.activeInstances(lab: lab.name).first {
            throw VMLabError(.invalidState, "lab \(lab.name) is already started (instance \(running.id)); "
                + "use `vmlab lab reset \(lab.name)` for a clean slate or `vmlab lab stop \(lab.name)` first")
        }
        let values = try lab.plan(RunRequest(), studentValues: fixedParameters)[0].parameters
        // A saved baseline holds the memory of the kernel it booted: a student's kernel changes
        // with every build, so a lab that boots one always starts cold.
        let key = useBaselineCache && !lab.bootsWorkspaceKernel
            ? try baselineKey(lab, image: image, accelerator: accelerator, values: values) : nil
        // A free saved slot is picked and the instance inserted under one lock, so two
        // starts never restore into the same names.
        var slotsLock = key == nil ? nil : try await OwnerLock.waitAndAcquire("baselines", in: home.locks)
        var saved = try key.flatMap { try freeBaseline($0, lab: lab) }
        let instance = InstanceRecord(id: Naming.newInstanceID(), slot: saved?.slot, host: host, lab: lab.name, student: student,
                                      imageDigest: image.manifest.digest, fixedParameters: encodeJSON(fixedParameters),
                                      state: .starting, pid: getpid(), createdAt: Date(), stoppedAt: nil,
                                      workspace: workspace?.directory?.standardizedFileURL.path)
        // Held while starting, so `gc` leaves the half-made instance to us.
        let instanceLock = try lock(instance)
        defer { withExtendedLifetime(instanceLock) {} }
        try store.insertInstance(instance)
        slotsLock = nil
        withExtendedLifetime(slotsLock) {}
        progress("\(lab.name): starting instance \(instance.id) (\(lab.vms.count) VM\(lab.vms.count == 1 ? "" : "s"), "
                 + "\(accelerator.rawValue)\(saved == nil ? "" : ", from a saved baseline"))")
        do {
            var session: LabSession? = nil
            if let entry = saved {
                do {
                    session = try await restoreBaseline(entry, lab: lab, image: image, instance: instance)
                } catch where !(error is CancellationError) {
                    // A host that went away (libvirtd gone) says nothing against the saved
                    // baseline: keep it, and let the caller place the start elsewhere.
                    guard (try? connection.libvirtVersion()) != nil else { throw error }
                    progress("\(lab.name): the saved baseline did not restore (\(error)); starting cold instead")
                    try Cleanup(store: store, connection: connection).remove(owner: instance.owner)
                    _ = try? BaselineCache(home: home).remove(entry, store: store, except: instance.id)
                    saved = nil
                }
            }
            if session == nil {
                session = try await coldStart(lab, instance: instance, image: image, accelerator: accelerator,
                                              values: values, key: key, workspace: workspace)
            }
            guard let session else { throw VMLabError(.failed, "\(lab.name): no session after the start") }
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

    /// Provisions and boots the VMs, runs setup, and saves the result as a baseline for
    /// later starts when `key` is given (a failed save costs this start nothing).
    private func coldStart(_ lab: LabSpec, instance: InstanceRecord, image: BuiltImage, accelerator: Accelerator,
                           values: [String: String], key: String?, workspace: Workspace?) async throws -> LabSession {
        let paths: ImagePaths? = if let volumes { try await volumes.ensureImage(image, progress: progress) } else { nil }
        try await offPool {
            try self.provision(lab, instance: instance, image: image, accelerator: accelerator, workspace: workspace, onHost: paths)
        }
        let session = try LabSession(lab: lab, instance: instance, runner: self)
        try await session.bootAll()
        if !lab.setup.isEmpty {
            progress("\(lab.name): setup (\(lab.setup.count) steps)")
            try await session.execute(lab.setup, values: values, run: nil)
        }
        if let key {
            do { try await saveBaseline(session, key: key) } catch where !(error is CancellationError) {
                progress("\(lab.name): could not save its baseline for later starts: \(error)")
            }
        }
        return session
    }

    /// The instance folder and the lab's networks, each recorded first; returns the owner
    /// tag the instance's objects carry.
    func provisionNetworks(_ lab: LabSpec, instance: InstanceRecord) throws -> OwnerTag {
        let tag = OwnerTag(owner: instance.owner, home: try home.identity())
        let dir = instanceDirectory(instance.id)
        try store.record(.directory, dir.path, owner: instance.owner)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for definition in Self.networkDefinitions(lab, slot: instance.slot, owner: tag) {
            try store.record(.network, definition.name, owner: instance.owner)
            let network = try connection.defineNetwork(xml: definition.xml)
            do { try network.start() } catch where "\(error)".contains("already in use by interface") {
                // An addressed network's subnet lives in the namespace all labs share.
                throw VMLabError(.busy, "lab \(lab.name): network \(definition.name) cannot start, its subnet is in use by "
                    + "another instance (a lab with outside or nat networks runs one instance at a time); stop the "
                    + "other instance (`vmlab lab status`) and try again", cause: error)
            }
        }
        return tag
    }

    /// Networks, then per VM its overlay, extra disks and domain, each recorded first.
    /// `onHost`: the image's volumes on a pool host, where the disks become volumes too.
    private func provision(_ lab: LabSpec, instance: InstanceRecord, image: BuiltImage, accelerator: Accelerator,
                           workspace: Workspace?, onHost: ImagePaths?) throws {
        if onHost != nil, let vm = lab.vms.first(where: { $0.boot != nil }) {
            throw VMLabError(.invalidState, "VM \(vm.name) of \(lab.name) boots a kernel from the workspace, which this "
                             + "machine keeps; a pool host (storage: pool) cannot reach it: run this lab on a shared host")
        }
        let tag = try provisionNetworks(lab, instance: instance)
        let dir = instanceDirectory(instance.id)
        for vm in lab.vms {
            var definition = domainDefinition(lab, vm: vm, instance: instance, image: image, accelerator: accelerator, tag: tag)
            definition.disks = try makeDisks(vm, instance: instance, image: image, onHost: onHost)
            if let onHost, let volumes {
                definition.kernel = onHost.kernel
                definition.initrd = onHost.initrd
                // virtlogd on the host cannot write into this machine's instance folder: the
                // log is a file of the pool's folder there, read back as a volume.
                let console = HostVolumes.consoleVolume(home: HostVolumes.homeTag(try home.identity()), instance: instance.id, vm: vm.name)
                try store.record(.volume, console, owner: instance.owner)
                definition.consoleLog = try volumes.pathOnHost(console)
            } else if let boot = vm.boot {
                let copies = BootFiles.copies(boot, vm: vm.name, in: dir)
                for file in [copies.kernel] + (copies.initrd.map { [$0] } ?? []) {
                    try store.record(.file, file.path, owner: instance.owner)
                }
                try BootFiles.stage(boot, vm: vm.name, lab: lab.name, from: workspace, into: dir)
            }
            try store.record(.domain, definition.name, owner: instance.owner)
            _ = try connection.defineDomain(xml: definition.xml)
        }
    }

    /// A VM's root overlay on the image and its extra disks, each recorded first: files of
    /// the instance folder (the paths `domainDefinition` names), or on a pool host volumes
    /// of its pool (`onHost`: the image's volumes there).
    private func makeDisks(_ vm: VMSpec, instance: InstanceRecord, image: BuiltImage,
                           onHost: ImagePaths?) throws -> [DomainDefinition.Disk] {
        let names: [String?] = [nil] + vm.disks.map(\.name)
        var disks: [DomainDefinition.Disk] = []
        for (index, name) in names.enumerated() {
            let spec = index == 0 ? nil : vm.disks[index - 1]
            let path: String
            if let onHost, let volumes {
                let volume = HostVolumes.instanceVolume(home: HostVolumes.homeTag(try home.identity()), instance: instance.id,
                                                        vm: vm.name, disk: name)
                try store.record(.volume, volume, owner: instance.owner)
                path = try spec.map { try volumes.createDisk(named: volume, capacityBytes: $0.sizeBytes) }
                    ?? volumes.createOverlay(named: volume, backing: onHost.disk, capacityBytes: try HostVolumes.qcow2VirtualSize(image.disk))
            } else {
                let file = instanceDirectory(instance.id).appendingPathComponent("\(vm.name)\(name.map { "-\($0)" } ?? "").qcow2")
                try store.record(.file, file.path, owner: instance.owner)
                if let spec {
                    try Subprocess.runBlocking(["qemu-img", "create", "-q", "-f", "qcow2", file.path, "\(spec.sizeBytes)"])
                } else {
                    try Overlay.create(file, backing: image.disk)
                }
                path = file.path
            }
            disks.append(.init(path: path, target: Self.diskTarget(index), cache: spec?.cache))
        }
        return disks
    }

    /// The domain of one lab VM: overlay and extra disks in the instance folder, NICs on
    /// the instance's networks, names from its slot.
    func domainDefinition(_ lab: LabSpec, vm: VMSpec, instance: InstanceRecord, image: BuiltImage,
                          accelerator: Accelerator, tag: OwnerTag) -> DomainDefinition {
        let dir = instanceDirectory(instance.id)
        var disks = [DomainDefinition.Disk(path: dir.appendingPathComponent("\(vm.name).qcow2").path, target: "vda")]
        for (i, disk) in vm.disks.enumerated() {
            disks.append(.init(path: dir.appendingPathComponent("\(vm.name)-\(disk.name).qcow2").path, target: Self.diskTarget(i + 1),
                               cache: disk.cache))
        }
        let nics = vm.nics.enumerated().map { i, nic in
            DomainDefinition.Interface(network: Naming.labNetwork(instance: instance.slot, network: nic.network),
                                       mac: Naming.mac(instance: instance.slot, vm: vm.name, nic: i))
        }
        var kernel = image.kernel.path, initrd = image.initrd.path
        var arguments = GuestManager.kernelArguments(hostname: vm.name, extra: image.manifest.kernelArguments)
        if let boot = vm.boot {
            // The student's kernel, from the copies `provision` made; vmlab's arguments first,
            // theirs after (checked when the lab was read: none of vmlab's own).
            let copies = BootFiles.copies(boot, vm: vm.name, in: dir)
            kernel = copies.kernel.path
            initrd = copies.initrd?.path ?? initrd
            if let extra = boot.cmdline?.trimmingCharacters(in: .whitespaces), !extra.isEmpty { arguments += " " + extra }
        }
        var definition = DomainDefinition(
            name: Naming.labDomain(lab: lab.name, instance: instance.slot, vm: vm.name), accelerator: accelerator,
            memoryMiB: vm.memoryMiB, vcpus: vm.vcpus, kernel: kernel, initrd: initrd,
            kernelArguments: arguments, disks: disks, interfaces: nics, owner: tag)
        definition.cpuset = vm.cpuset
        definition.consoleLog = Self.consoleLog(dir, vm: vm.name).path
        return definition
    }

    /// The lab's networks as libvirt definitions, outside networks first: a NAT network
    /// names the outside bridge it translates to, which must exist when it starts.
    static func networkDefinitions(_ lab: LabSpec, slot: String, owner: OwnerTag) -> [NetworkDefinition] {
        let bridges = Dictionary(lab.networks.enumerated().map { ($1.name, Naming.bridge(instance: slot, index: $0)) },
                                 uniquingKeysWith: { a, _ in a })
        let definitions = lab.networks.map { net in
            var mode = NetworkDefinition.Mode.isolated
            switch (net.kind, net.address) {
            case (.outside, let address?): mode = .outside(address: address)
            case (.nat(let outside), let address?): mode = .nat(address: address, outsideBridge: bridges[outside] ?? "")
            default: break
            }
            return NetworkDefinition(name: Naming.labNetwork(instance: slot, network: net.name),
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
    /// `startsAtBaseline`: the instance was just started (its baseline snapshot is its
    /// current state and nothing ran since), so the first run needs no revert; a grading
    /// replay saves the seconds a revert costs under TCG.
    public func run(_ lab: LabSpec, instance: InstanceRecord, experiment: ExperimentSpec,
                    plans: [RunPlan], workspace: Workspace? = nil, startsAtBaseline: Bool = false) async throws -> [RunRecord] {
        let lock = try lock(instance)
        defer { withExtendedLifetime(lock) {} }
        var session = try LabSession(lab: lab, instance: try requireReady(instance), runner: self)
        session.workspace = workspace
        var records: [RunRecord] = []
        for (index, plan) in plans.enumerated() {
            try Task.checkCancellation()
            let label = plan.parameters.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            progress("\(experiment.name) run \(index + 1)/\(plans.count): \(label)\(plan.repetition > 0 ? " (repeat \(plan.repetition + 1))" : "")")
            if experiment.revertBeforeRun, !(startsAtBaseline && index == 0) { try await session.revertAll() }
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
            // Its objects are on another libvirt host: absent here proves nothing.
            guard instance.host == nil || host == nil || instance.host == host else {
                progress("\(instance.lab): interrupted instance \(instance.id) is on host \(instance.host ?? "the default one"); "
                         + "run `vmlab gc --connect \(instance.host ?? "URI")` for it")
                continue
            }
            if claim(instance.owner) { doomed.insert(instance.owner) }
        }
        let interrupted = try store.interruptedRuns().filter { claim("lab:\($0.instance)") }
        let live = Set(try store.guests().map { "guest:\($0.name)" } + store.activeInstances().map(\.owner))
            .subtracting(doomed)
        let records = try store.resources()
        let orphans = try Orphans(connection: connection, home: home, volumes: volumes).find(recorded: Set(records.map(\.name)))
        let garbage = (records + orphans).filter { !live.contains($0.owner) && claim($0.owner) }
        guard !dryRun else { return garbage + (try collectBaselines(dryRun: true)) }
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
        return garbage + (try collectBaselines(dryRun: false))
    }

    /// Saved baselines of images no longer built, and the half-written ones of dead
    /// processes, as folders to remove; on a pool host also this home's baseline volumes
    /// that no entry, and no live writer, owns.
    func collectBaselines(dryRun: Bool) throws -> [Resource] {
        let live = Set(ImageStore(home: home).all().map(\.manifest.digest))
        let cache = BaselineCache(home: home)
        var found = try cache.collectGarbage(liveImages: live, store: store, dryRun: dryRun)
            .map { Resource(kind: .directory, name: $0, owner: "baseline cache") }
        guard let volumes else { return found }
        let homeTag = HostVolumes.homeTag(try home.identity())
        let bySlot = try volumes.baselineVolumes(homeTag: homeTag)
        let owned = cache.owned(bySlot.keys)
        for (slot, names) in bySlot.sorted(by: { $0.key < $1.key }) where !owned.contains(slot) {
            for name in names.sorted() {
                if !dryRun { try volumes.deleteVolume(named: name) }
                found.append(Resource(kind: .volume, name: name, owner: "baseline cache"))
            }
        }
        return found
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
    /// The same runner (home, store, settings) working on another libvirt host: the one a
    /// host pool placed an instance on (`host`: its URI is recorded with the instance).
    public func on(_ other: Connection, host: HostSpec) -> LabRunner {
        var runner = LabRunner(home: home, store: store, connection: other, progress: progress)
        runner.host = host.uri
        runner.storage = host.storage
        runner.bootTimeout = bootTimeout
        runner.useBaselineCache = useBaselineCache
        return runner
    }

    /// The same runner with the storage an instance was started with, as its records show:
    /// volumes mean a pool host (whatever the URI's default), files a shared one.
    public func matching(_ instance: InstanceRecord) throws -> LabRunner {
        var runner = self
        let volumes = try store.resources(owner: instance.owner).contains { $0.kind == .volume }
        runner.storage = volumes ? .pool(path: storage.poolPath ?? HostStorage.defaultPoolPath) : .shared
        return runner
    }

    /// The domain of one VM of a started lab, or an error naming the lab's VMs.
    public func domain(of instance: InstanceRecord, vm: String) throws -> Domain {
        let name = Naming.labDomain(lab: instance.lab, instance: instance.slot, vm: vm)
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
            let name = Naming.labDomain(lab: instance.lab, instance: instance.slot, vm: vm.name)
            return (vm.name, (try? connection.lookupDomain(named: name)?.state().label) ?? "missing")
        }
    }

    /// The agent client of one VM of a started lab.
    public func agent(of instance: InstanceRecord, vm: String) throws -> GuestAgent {
        GuestAgent(guest: "\(instance.lab)/\(vm)", transport: LibvirtAgentTransport(domain: try domain(of: instance, vm: vm)))
    }
}
