import Foundation
import Guests
import LabModel
import LabStore
import Libvirt
import VMLabSupport

/// The lab as the steps of one run (or of the setup) see it: its VMs through libvirt and
/// their agents, the store as the recorder, and the run's artifacts folder.
struct SessionRuntime: LabRuntime {
    let session: LabSession
    let run: LabSession.RunContext?

    func vm(_ name: String) throws -> any LabVM {
        SessionVM(session: session, spec: try session.spec(name), domain: try session.domain(name))
    }

    func execute(_ step: Step) async throws {
        try await session.execute(step, run: run)
    }

    func labFile(_ relativePath: String) throws -> Data {
        try LabFolder(labDirectory: session.lab.source.deletingLastPathComponent()).read(relativePath)
    }

    var parameters: [String: String] { run?.plan.parameters ?? [:] }

    func record(measure: String, value: Double, unit: String) throws {
        guard let run else { return }
        try session.runner.store.recordMeasurement(
            RunMeasurement(runID: run.id, experiment: run.experiment, name: measure, value: value, unit: unit,
                        parameters: run.plan.parameters, repetition: run.plan.repetition, takenAt: Date()),
            instance: session.instance.id)
    }

    func measuredSoFar() throws -> [String: Double] {
        guard let run else { return [:] }
        var values: [String: Double] = [:]
        for m in try session.runner.store.measurements(instance: session.instance.id, run: run.id) { values[m.name] = m.value }
        return values
    }

    func workspace() throws -> Workspace {
        guard session.lab.workspace != nil else {
            throw VMLabError(.invalidInput, "lab \(session.lab.name) declares no workspace (add `workspace:` to lab.yaml)")
        }
        guard let workspace = session.workspace else {
            throw VMLabError(.invalidInput, "this step copies your workspace, but none was given; pass --workspace DIR "
                + "(default ./\(session.lab.name)-workspace)")
        }
        return workspace
    }

    func consoleOutput(of vm: String, maxBytes: Int) throws -> Data {
        // During setup the whole log is the boot's output.
        try session.consoleOutput(of: vm, since: run?.consoles[vm] ?? 0, maxBytes: maxBytes)
    }

    func keepArtifact(_ name: String, _ contents: Data) throws -> String {
        if let problem = ArtifactName.problem(name) { throw VMLabError(.invalidInput, "artifact \(name): \(problem)") }
        let dir = session.runner.artifactsDirectory(session.instance.id, run: run?.id ?? 0)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let file = dir.appendingPathComponent(name)
        try contents.write(to: file)
        return file.path
    }

    func restoreDisks(from: String, snapshot: String, disks: [String], into: String) async throws {
        try await session.restoreDisks(from: from, snapshot: snapshot, disks: disks, into: into)
    }

    func dropHostCache(vm: String, disk: String) async throws {
        _ = try session.diskTarget(try session.spec(vm), disk)
        let file = try session.runner.diskFile(session.instance.id, vm: vm, disk: disk).path
        try await offPool { try PageCache.evict(file) }
    }

    func hostReading(_ reading: HostReading, vm: String?, disk: String?) async throws -> Double {
        try await session.hostReading(reading, vm: vm, disk: disk)
    }
}

/// One VM of a running lab instance: its libvirt domain and its guest agent.
struct SessionVM: LabVM {
    let session: LabSession
    let spec: VMSpec
    let domain: Domain

    var name: String { spec.name }
    private var agent: GuestAgent { GuestAgent(guest: "\(session.lab.name)/\(name)", transport: LibvirtAgentTransport(domain: domain)) }

    func shell(_ command: String, timeout: Duration) async throws -> ExecResult {
        do {
            return try await agent.shell(command, timeout: timeout)
        } catch {
            throw session.panicError(name) ?? error
        }
    }

    func install(_ contents: Data, at path: String) async throws {
        do {
            try await agent.install(contents, at: path)
        } catch {
            throw session.panicError(name) ?? error
        }
    }

    func readFile(_ path: String) async throws -> Data {
        let agent = self.agent
        return try await offPool { try agent.readFile(path) }
    }

    func powerCut() async throws {
        let domain = self.domain
        try await offPool { try domain.destroy() }
    }

    func start() async throws {
        let domain = self.domain
        try await offPool { try domain.start() }
        try await session.afterBoot(spec)
    }

    func shutDown(timeout: Duration) async throws -> Bool {
        try await domain.shutDownAndWait(timeout: timeout)
    }

    func waitForAgent(timeout: Duration) async throws {
        try await agent.waitUntilReady(timeout: timeout)
    }

    func snapshot(_ name: String) async throws {
        let domain = self.domain
        _ = try await offPool { try domain.createSnapshot(name: name) }
    }

    func revert(to name: String) async throws {
        let domain = self.domain
        try await offPool { try domain.revert(to: try domain.snapshot(named: name)) }
        if try domain.isActive() { try await agent.waitUntilReady(timeout: session.runner.bootTimeout) }
    }

    func setCPU(_ tuning: CPUTuning) async throws {
        let domain = self.domain
        let parameters = SchedulerParameters(cpuShares: tuning.shares, vcpuPeriod: tuning.period, vcpuQuota: tuning.quota)
        try await offPool { try domain.setSchedulerParameters(parameters, live: true) }
    }

    func setMemory(mebibytes: UInt64) async throws {
        let domain = self.domain
        try await offPool { try domain.setMemory(kibibytes: mebibytes * 1024, live: true) }
    }

    func setLink(nic: Int, up: Bool) async throws {
        let domain = self.domain
        let mac = Naming.mac(instance: session.instance.slot, vm: name, nic: nic)
        try await offPool { try domain.setInterfaceLinkState(mac: mac, up: up) }
    }

    func vcpuTimeNanoseconds() async throws -> UInt64 {
        let domain = self.domain
        return try await offPool { try domain.vcpuTimeNanoseconds() }
    }

    func freezeFilesystems(hookTimeout: Duration) async throws -> Int {
        // Noted before the freeze is sent: the end of the run thaws it if no step does.
        session.frozen.insert(name)
        return try await agent.freezeFilesystems(hookTimeout: hookTimeout)
    }

    func thawFilesystems() async throws -> Int {
        let count = try await agent.thawFilesystems()
        if try await !agent.filesystemsFrozen() { session.frozen.remove(name) }
        return count
    }

    func snapshotDisks(_ name: String, disks: [String], quiesce: Bool, hookTimeout: Duration) async throws -> Double {
        try await session.snapshotDisks(spec, name: name, disks: disks, quiesce: quiesce, hookTimeout: hookTimeout)
    }
}
