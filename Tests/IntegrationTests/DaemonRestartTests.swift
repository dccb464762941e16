import Foundation
import LabStore
import Testing
import VMLabSupport

extension RealHost {
/// libvirtd restarted in the middle of a run (exactly the daemons scripts/setup.sh started,
/// stopped with scripts/stop.sh and started again): vmlab ends with a clear error well
/// within 60 s instead of dying silently or hanging, and `gc` then leaves a usable lab.
@Suite struct DaemonRestartTests {
    /// Runs a daemon script to its end, its output added to `log`.
    func script(_ name: String, log: URL) async throws -> Int32 {
        let path = IntegrationEnvironment.repository.appendingPathComponent("scripts/\(name)").path
        return try await SpawnedProcess(["bash", path], stdout: log, stderr: log, append: true).finish()
    }

    /// Starts a long journal-replay run and returns once it has recorded two more events
    /// of a run, so the daemon is disturbed in the middle of it.
    func runUnderWay(home: VMLabHome, store: Store, instance: String, errors: URL) async throws -> SpawnedProcess {
        let before = try store.events(instance: instance).filter { $0.run != nil }.count
        let run = try SpawnedProcess(
            [IntegrationEnvironment.vmlabBinary.path, "run", "journal-replay", "crash-replay", "--set", "files=300", "--repeat", "3"],
            environment: try await IntegrationEnvironment.environment(home: home),
            stdout: URL(fileURLWithPath: "/dev/null"), stderr: errors)
        let underWay = ContinuousClock.now + .seconds(120)
        while try store.events(instance: instance).filter({ $0.run != nil }).count < before + 2, ContinuousClock.now < underWay {
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(run.isRunning, "the run ended before the daemon was disturbed: \(run.stderr)")
        return run
    }

    /// libvirtd stopped (SIGSTOP, the daemon setup started) in the middle of a run: the run
    /// gives up within a minute (keepalive), a new command gives up at its open timeout,
    /// and once the daemon continues, `gc` and `reset` work.
    func hungDaemonIsGivenUpOn(home: VMLabHome, store: Store, instance: String) async throws {
        let runDir = ProcessInfo.processInfo.environment["VMLAB_RUN"].flatMap { $0.isEmpty ? nil : $0 } ?? "/run/vmlab"
        let pidText = try BoundedFile.text(URL(fileURLWithPath: runDir + "/libvirtd.pid"), maxBytes: 64)
        let daemon = try #require(pid_t(pidText.trimmingCharacters(in: .whitespacesAndNewlines)))
        let process = try await runUnderWay(home: home, store: store, instance: instance,
                                            errors: home.root.appendingPathComponent("hung.err"))
        try #require(kill(daemon, SIGSTOP) == 0)
        let stopped = ContinuousClock.now
        var resumed = false
        defer { if !resumed { kill(daemon, SIGCONT) } }
        let fresh = try await IntegrationEnvironment.vmlab(["lab", "status"], home: home)
        #expect(fresh.status != 0 && fresh.stderr.contains("did not answer"), "a new command: \(fresh.stderr)")
        while process.isRunning, ContinuousClock.now - stopped < .seconds(90) { try await Task.sleep(for: .milliseconds(200)) }
        let ended = ContinuousClock.now - stopped
        process.kill()
        try await process.finish()
        kill(daemon, SIGCONT)
        resumed = true
        let stderr = process.stderr
        #expect(ended < .seconds(60), "a run against a hung libvirtd took \(ended) to give up; stderr: \(stderr)")
        #expect(stderr.contains("libvirtd"), "the error should name libvirtd: \(stderr)")
        let gc = try await IntegrationEnvironment.vmlab(["gc"], home: home)
        #expect(gc.status == 0, "\(gc.stderr)")
        let reset = try await IntegrationEnvironment.vmlab(["lab", "reset", "journal-replay"], home: home)
        #expect(reset.status == 0, "the lab survives a hung daemon: \(reset.stderr)")
    }

    @Test func libvirtdRestartMidRunGivesAClearErrorAndACleanGC() async throws {
        let home = try IntegrationEnvironment.makeHome()
        defer {
            IntegrationEnvironment.vmlabSync(["lab", "stop", "journal-replay"], home: home)
            try? FileManager.default.removeItem(at: home.root)
        }
        let start = try await IntegrationEnvironment.vmlab(["lab", "start", "journal-replay"], home: home)
        try #require(start.status == 0, "\(start.stderr)")
        let store = try Store(home: home)
        let instance = try #require(try store.activeInstances(lab: "journal-replay").first)

        let process = try await runUnderWay(home: home, store: store, instance: instance.id,
                                            errors: home.root.appendingPathComponent("run.err"))

        // A connection opened before the restart: it must serve again once the daemon is back.
        let longLived = try IntegrationEnvironment.connect()
        let log = home.root.appendingPathComponent("daemons.log")
        #expect(try await script("stop.sh", log: log) == 0, "\((try? String(contentsOf: log, encoding: .utf8)) ?? "")")
        let restarted = ContinuousClock.now
        #expect(try await script("setup.sh", log: log) == 0, "\((try? String(contentsOf: log, encoding: .utf8)) ?? "")")

        while process.isRunning, ContinuousClock.now - restarted < .seconds(90) { try await Task.sleep(for: .milliseconds(200)) }
        let ended = ContinuousClock.now - restarted
        process.kill()
        let status = try await process.finish()
        let stderr = process.stderr
        #expect(ended < .seconds(60), "vmlab took \(ended) to notice; stderr: \(stderr)")
        #expect(status != 0 && status != 141 && status < 128, "status \(status) (128 + n is signal n)")
        #expect(stderr.contains("libvirtd"), "the error should say the connection to libvirtd was lost: \(stderr)")

        #expect(try longLived.allDomains().count >= 0, "the connection reconnects after the restart")
        let gc = try await IntegrationEnvironment.vmlab(["gc"], home: home)
        #expect(gc.status == 0, "\(gc.stderr)")
        #expect(try store.runs(instance: instance.id).allSatisfy { $0.status != .running })
        let reset = try await IntegrationEnvironment.vmlab(["lab", "reset", "journal-replay"], home: home)
        #expect(reset.status == 0, "the lab survives a daemon restart: \(reset.stderr)")
        try await hungDaemonIsGivenUpOn(home: home, store: store, instance: instance.id)
        #expect(try await IntegrationEnvironment.vmlab(["lab", "stop", "journal-replay"], home: home).status == 0)
        #expect(try IntegrationEnvironment.leftovers(try IntegrationEnvironment.connect(), home: home).isEmpty)
    }
}
}
