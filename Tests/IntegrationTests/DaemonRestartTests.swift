import Foundation
import LabStore
import Testing
import VMLabSupport

extension RealHost {
/// libvirtd restarted in the middle of a run (exactly the daemons scripts/setup.sh started,
/// stopped with scripts/stop.sh and started again): vmlab ends with a clear error well
/// within 60 s instead of dying silently or hanging, and `gc` then leaves a usable lab.
@Suite struct DaemonRestartTests {
    /// Runs a daemon script with posix_spawn and waitpid, its output to a file: Foundation's
    /// Process was seen to miss the exit of a script that starts daemons (waitUntilExit
    /// never returned, the script a zombie), which would hang the suite.
    func script(_ name: String, log: URL) async throws -> Int32 {
        let path = IntegrationEnvironment.repository.appendingPathComponent("scripts/\(name)").path
        let command = "bash '\(path)' </dev/null >>'\(log.path)' 2>&1"
        return try await offPool {
            var pid: pid_t = 0
            let argv: [UnsafeMutablePointer<CChar>?] = [strdup("/bin/sh"), strdup("-c"), strdup(command), nil]
            defer { argv.forEach { free($0) } }
            guard posix_spawn(&pid, "/bin/sh", nil, nil, argv, environ) == 0 else {
                throw VMLabError(.failed, "cannot start scripts/\(name)")
            }
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 {
                guard errno == EINTR else { return errno == ECHILD ? 0 : -1 }
            }
            return (status >> 8) & 0xff
        }
    }

    /// libvirtd stopped (SIGSTOP, the daemon setup started) in the middle of a run: the run
    /// gives up within a minute (keepalive), a new command gives up at its open timeout,
    /// and once the daemon continues, `gc` and `reset` work.
    func hungDaemonIsGivenUpOn(home: VMLabHome, store: Store, instance: String) async throws {
        let runDir = ProcessInfo.processInfo.environment["VMLAB_RUN"].flatMap { $0.isEmpty ? nil : $0 } ?? "/run/vmlab"
        let pidText = try BoundedFile.text(URL(fileURLWithPath: runDir + "/libvirtd.pid"), maxBytes: 64)
        let daemon = try #require(pid_t(pidText.trimmingCharacters(in: .whitespacesAndNewlines)))
        let errors = home.root.appendingPathComponent("hung.err")
        FileManager.default.createFile(atPath: errors.path, contents: nil)
        let before = try store.events(instance: instance).count
        let process = Process()
        process.executableURL = IntegrationEnvironment.vmlabBinary
        process.arguments = ["run", "journal-replay", "crash-replay", "--set", "files=300", "--repeat", "3"]
        process.environment = ProcessInfo.processInfo.environment.merging(
            try await IntegrationEnvironment.environment(home: home)) { $1 }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = try FileHandle(forWritingTo: errors)
        try process.run()
        let underWay = ContinuousClock.now + .seconds(120)
        while try store.events(instance: instance).count < before + 2, ContinuousClock.now < underWay {
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(process.isRunning, "the run ended before the daemon was stopped")
        try #require(kill(daemon, SIGSTOP) == 0)
        let stopped = ContinuousClock.now
        var resumed = false
        defer { if !resumed { kill(daemon, SIGCONT) } }
        let fresh = try await IntegrationEnvironment.vmlab(["lab", "status"], home: home)
        #expect(fresh.status != 0 && fresh.stderr.contains("did not answer"), "a new command: \(fresh.stderr)")
        while process.isRunning, ContinuousClock.now - stopped < .seconds(90) { try await Task.sleep(for: .milliseconds(200)) }
        let ended = ContinuousClock.now - stopped
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        kill(daemon, SIGCONT)
        resumed = true
        let stderr = (try? String(contentsOf: errors, encoding: .utf8)) ?? ""
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

        let errors = home.root.appendingPathComponent("run.err")
        FileManager.default.createFile(atPath: errors.path, contents: nil)
        let process = Process()
        process.executableURL = IntegrationEnvironment.vmlabBinary
        process.arguments = ["run", "journal-replay", "crash-replay", "--set", "files=300", "--repeat", "3"]
        process.environment = ProcessInfo.processInfo.environment.merging(
            try await IntegrationEnvironment.environment(home: home)) { $1 }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = try FileHandle(forWritingTo: errors)
        try process.run()
        let underWay = ContinuousClock.now + .seconds(120)
        while try store.events(instance: instance.id).filter({ $0.run != nil }).count < 2, ContinuousClock.now < underWay {
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(process.isRunning, "the run ended before the restart")

        // A connection opened before the restart: it must serve again once the daemon is back.
        let longLived = try IntegrationEnvironment.connect()
        let log = home.root.appendingPathComponent("daemons.log")
        #expect(try await script("stop.sh", log: log) == 0, "\((try? String(contentsOf: log, encoding: .utf8)) ?? "")")
        let restarted = ContinuousClock.now
        #expect(try await script("setup.sh", log: log) == 0, "\((try? String(contentsOf: log, encoding: .utf8)) ?? "")")

        while process.isRunning, ContinuousClock.now - restarted < .seconds(90) { try await Task.sleep(for: .milliseconds(200)) }
        let ended = ContinuousClock.now - restarted
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        let stderr = (try? String(contentsOf: errors, encoding: .utf8)) ?? ""
        #expect(ended < .seconds(60), "vmlab took \(ended) to notice; stderr: \(stderr)")
        #expect(process.terminationReason == .exit && process.terminationStatus != 0 && process.terminationStatus != 141,
                "status \(process.terminationStatus) (\(process.terminationReason == .exit ? "exit" : "signal"))")
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
