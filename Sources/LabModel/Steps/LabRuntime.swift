import Foundation
import VMLabSupport

/// What a step may do to a running lab: reach its VMs by name, record what it measured,
/// keep files, and run nested steps. The runner implements it over libvirt and the guest
/// agents; tests implement it with a fake lab.
public protocol LabRuntime: Sendable {
    /// A VM of the lab, by the name lab.yaml gives it.
    func vm(_ name: String) throws -> any LabVM
    /// Runs a nested step (substituted already) and records it like any other.
    func execute(_ step: Step) async throws
    /// Reads a file of the lab folder (copy-in sources): bounded, and inside the folder.
    func labFile(_ relativePath: String) throws -> Data
    /// The run's parameter values, as text (empty during setup).
    var parameters: [String: String] { get }
    /// Records a measurement of the current run (nothing is kept during setup).
    func record(measure: String, value: Double, unit: String) throws
    /// The values the current run has measured so far, by measure name.
    func measuredSoFar() throws -> [String: Double]
    /// Keeps a file taken from a guest among the run's artifacts; returns where it went.
    func keepArtifact(_ name: String, _ contents: Data) throws -> String
    /// The student's workspace for this run (read from their folder, or a replay's handed-in
    /// files); an error saying what to do when the lab or the run has none.
    func workspace() throws -> Workspace
    /// What a VM's serial console printed since the current run began (since boot during
    /// setup), at most `maxBytes` of its end.
    func consoleOutput(of vm: String, maxBytes: Int) throws -> Data
    /// Powers VM `into` off (if it runs) and copies disks of VM `from`'s disk snapshot
    /// `snapshot` over its same-named disks: its next boot sees the snapshot's data.
    func restoreDisks(from: String, snapshot: String, disks: [String], into: String) async throws
    /// Drops a VM's disk file from the host page cache (after writing its dirty pages back).
    func dropHostCache(vm: String, disk: String) async throws
    /// One reading from the fixed list of host-side measures (never a host command).
    func hostReading(_ reading: HostReading, vm: String?, disk: String?) async throws -> Double
}

/// One VM of a running lab, as steps see it.
public protocol LabVM: Sendable {
    var name: String { get }
    /// Runs `sh -c command` through the guest agent.
    func shell(_ command: String, timeout: Duration) async throws -> ExecResult
    /// Writes a file in the guest, making its folder first.
    func install(_ contents: Data, at path: String) async throws
    /// Reads a file from the guest.
    func readFile(_ path: String) async throws -> Data
    /// Cuts the power: nothing is flushed.
    func powerCut() async throws
    /// Starts the VM and waits until its agent answers and its NICs are configured.
    func start() async throws
    /// Asks for a clean power-off; false when the VM is still running after `timeout`.
    func shutDown(timeout: Duration) async throws -> Bool
    func waitForAgent(timeout: Duration) async throws
    func snapshot(_ name: String) async throws
    /// Reverts to a snapshot and, when the VM runs afterwards, waits for its agent.
    func revert(to name: String) async throws
    func setCPU(_ tuning: CPUTuning) async throws
    func setMemory(mebibytes: UInt64) async throws
    func setLink(nic: Int, up: Bool) async throws
    /// The host-side CPU time all vCPUs of the VM have used, in nanoseconds.
    func vcpuTimeNanoseconds() async throws -> UInt64
    /// Freezes the guest's filesystems through its agent, after its fsfreeze hooks ran
    /// (each cut off after `hookTimeout`). The runner thaws the VM when the run ends, on
    /// every path, if no step did. Returns how many filesystems were frozen.
    func freezeFilesystems(hookTimeout: Duration) async throws -> Int
    /// Thaws the guest's filesystems (its hooks then run with "thaw").
    func thawFilesystems() async throws -> Int
    /// A point-in-time copy of the named data disks (one instant for all), kept as disk
    /// snapshot `name` of this VM. With `quiesce`, taken while the guest is frozen and thawed
    /// right after, whatever happens. Returns the seconds the guest was frozen (0 without).
    func snapshotDisks(_ name: String, disks: [String], quiesce: Bool, hookTimeout: Duration) async throws -> Double
}

/// Run-time CPU tuning of a VM; nil fields stay as they are.
public struct CPUTuning: Sendable, Equatable {
    /// Relative weight against other VMs (cgroup cpu.shares).
    public var shares: UInt64?
    /// Scheduling period of each vCPU, in microseconds.
    public var period: UInt64?
    /// CPU time each vCPU may use per period, in microseconds (-1: no cap).
    public var quota: Int64?

    public init(shares: UInt64? = nil, period: UInt64? = nil, quota: Int64? = nil) {
        self.shares = shares
        self.period = period
        self.quota = quota
    }
}
