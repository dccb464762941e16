import Foundation
@testable import LabModel
import Synchronization
@testable import VMLabSupport

/// A lab runtime without libvirt: VMs answer commands from a script, and every call a step
/// makes is kept, so a step kind's run is tested as logic.
final class FakeLab: LabRuntime, Sendable {
    /// What `shell` returns for a command (by exact text); anything else exits 0 silently.
    let replies: [String: ExecResult]
    let parameters: [String: String]
    let files: [String: Data]
    /// The workspace `copy-workspace` sees (nil: the lab has none).
    let workspaceFiles: [String: Data]?
    /// Console output per VM, for kernel-events measures.
    let consoles: [String: String]
    private let state = Mutex(State())

    struct State {
        var calls: [String] = []
        var recorded: [(name: String, value: Double, unit: String)] = []
        var artifacts: [String: Data] = [:]
    }

    init(replies: [String: ExecResult] = [:], parameters: [String: String] = [:], files: [String: Data] = [:],
         workspaceFiles: [String: Data]? = nil, consoles: [String: String] = [:]) {
        self.workspaceFiles = workspaceFiles
        self.consoles = consoles
        self.replies = replies
        self.parameters = parameters
        self.files = files
    }

    var calls: [String] { state.withLock { $0.calls } }
    var recorded: [(name: String, value: Double, unit: String)] { state.withLock { $0.recorded } }
    var artifacts: [String: Data] { state.withLock { $0.artifacts } }

    func log(_ call: String) { state.withLock { $0.calls.append(call) } }

    func vm(_ name: String) throws -> any LabVM {
        guard name != "missing" else { throw VMLabError(.notFound, "no VM \(name)") }
        return FakeVM(name: name, lab: self)
    }

    func execute(_ step: Step) async throws {
        try step.body.check()
        _ = try await step.body.run(in: self)
    }

    func labFile(_ relativePath: String) throws -> Data {
        guard let data = files[relativePath] else { throw VMLabError(.notFound, "no lab file \(relativePath)") }
        return data
    }

    func record(measure: String, value: Double, unit: String) throws {
        state.withLock { $0.recorded.append((measure, value, unit)) }
    }

    func measuredSoFar() throws -> [String: Double] {
        state.withLock { Dictionary($0.recorded.map { ($0.name, $0.value) }, uniquingKeysWith: { _, b in b }) }
    }

    func keepArtifact(_ name: String, _ contents: Data) throws -> String {
        state.withLock { $0.artifacts[name] = contents }
        return "artifacts/\(name)"
    }

    func workspace() throws -> Workspace {
        guard let workspaceFiles else { throw VMLabError(.invalidState, "no workspace") }
        return Workspace(files: workspaceFiles)
    }

    func consoleOutput(of vm: String, maxBytes: Int) throws -> Data {
        Data((consoles[vm] ?? "").utf8.suffix(maxBytes))
    }

    func restoreDisks(from: String, snapshot: String, disks: [String], into: String) async throws {
        log("\(from) restore \(snapshot) \(disks.joined(separator: ",")) into \(into)")
    }

    func dropHostCache(vm: String, disk: String) async throws { log("\(vm) drop host cache \(disk)") }

    func hostReading(_ reading: HostReading, vm: String?, disk: String?) async throws -> Double {
        log("host \(reading.rawValue) \(vm ?? "-") \(disk ?? "-")")
        return 42
    }
}

struct FakeVM: LabVM {
    let name: String
    let lab: FakeLab

    func shell(_ command: String, timeout: Duration) async throws -> ExecResult {
        lab.log("\(name) shell \(command)")
        return lab.replies[command] ?? ExecResult(exitCode: 0, signal: nil, stdout: Data(), stderr: Data())
    }
    func install(_ contents: Data, at path: String) async throws { lab.log("\(name) install \(contents.count) \(path)") }
    func readFile(_ path: String) async throws -> Data {
        lab.log("\(name) read \(path)")
        return Data("contents of \(path)".utf8)
    }
    func powerCut() async throws { lab.log("\(name) power cut") }
    func start() async throws { lab.log("\(name) start") }
    func shutDown(timeout: Duration) async throws -> Bool { lab.log("\(name) shutdown"); return name != "stuck" }
    func waitForAgent(timeout: Duration) async throws { lab.log("\(name) wait \(timeout.components.seconds)") }
    func snapshot(_ snapshot: String) async throws { lab.log("\(name) snapshot \(snapshot)") }
    func revert(to snapshot: String) async throws { lab.log("\(name) revert \(snapshot)") }
    func setCPU(_ tuning: CPUTuning) async throws {
        lab.log("\(name) cpu \(tuning.shares.map(String.init) ?? "-") \(tuning.period.map(String.init) ?? "-") \(tuning.quota.map(String.init) ?? "-")")
    }
    func setMemory(mebibytes: UInt64) async throws { lab.log("\(name) memory \(mebibytes)") }
    func setLink(nic: Int, up: Bool) async throws { lab.log("\(name) link \(nic) \(up ? "up" : "down")") }
    func vcpuTimeNanoseconds() async throws -> UInt64 {
        lab.log("\(name) cpu-time")
        return UInt64(lab.calls.count) * 500_000_000
    }
    func freezeFilesystems(hookTimeout: Duration) async throws -> Int {
        lab.log("\(name) freeze \(hookTimeout.components.seconds)")
        return 2
    }
    func thawFilesystems() async throws -> Int { lab.log("\(name) thaw"); return 2 }
    func snapshotDisks(_ snapshot: String, disks: [String], quiesce: Bool, hookTimeout: Duration) async throws -> Double {
        lab.log("\(name) disk-snapshot \(snapshot) \(disks.joined(separator: ",")) quiesce=\(quiesce)")
        return quiesce ? 0.25 : 0
    }
}

func execResult(_ out: String, exit: Int32 = 0, err: String = "") -> ExecResult {
    ExecResult(exitCode: exit, signal: nil, stdout: Data(out.utf8), stderr: Data(err.utf8))
}
